/* Replays fuzz inputs without libFuzzer: every file of every folder named
 * on the command line goes once through LLVMFuzzerTestOneInput. The normal
 * test suite runs each target this way over its corpus and its regression
 * inputs. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path) {
  FILE *f = fopen(path, "rb");
  uint8_t *data;
  long size;

  if (!f)
    return -1;
  fseek(f, 0, SEEK_END);
  size = ftell(f);
  fseek(f, 0, SEEK_SET);
  data = malloc(size > 0 ? (size_t)size : 1);
  if (!data || fread(data, 1, (size_t)size, f) != (size_t)size) {
    fclose(f);
    free(data);
    return -1;
  }
  fclose(f);
  LLVMFuzzerTestOneInput(data, (size_t)size);
  free(data);
  return 0;
}

int main(int argc, char **argv) {
  size_t count = 0;

  for (int i = 1; i < argc; i++) {
    DIR *dir = opendir(argv[i]);
    struct dirent *e;
    if (!dir) {
      fprintf(stderr, "%s: cannot open the folder\n", argv[i]);
      return 1;
    }
    while ((e = readdir(dir)) != NULL) {
      char path[4096];
      struct stat st;
      if (e->d_name[0] == '.')
        continue;
      snprintf(path, sizeof path, "%s/%s", argv[i], e->d_name);
      if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        continue;
      if (replay_file(path) != 0) {
        fprintf(stderr, "%s: cannot read it\n", path);
        closedir(dir);
        return 1;
      }
      count++;
    }
    closedir(dir);
  }
  printf("replayed %zu inputs\n", count);
  return count ? 0 : 1;
}
