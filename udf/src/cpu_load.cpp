#include "cpu_load.hpp"

#include <dirent.h>
#include <sched.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>

namespace cropcube {
namespace {

// Runnable tasks in the whole system: the "R/T" field of /proc/loadavg ("0.5 0.6 0.7 3/456 789").
int system_running() {
  FILE* f = std::fopen("/proc/loadavg", "r");
  if (!f) return -1;
  double a, b, c;
  int running = -1, total = 0;
  if (std::fscanf(f, "%lf %lf %lf %d/%d", &a, &b, &c, &running, &total) != 5) running = -1;
  std::fclose(f);
  return running;
}

// Threads of this process in state R (running or runnable), from /proc/self/task/*/stat.
int own_running() {
  DIR* dir = opendir("/proc/self/task");
  if (!dir) return -1;
  int running = 0;
  char buf[512];
  while (dirent* e = readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    std::string path = std::string("/proc/self/task/") + e->d_name + "/stat";
    FILE* f = std::fopen(path.c_str(), "r");
    if (!f) continue;  // the thread ended meanwhile
    size_t n = std::fread(buf, 1, sizeof(buf) - 1, f);
    std::fclose(f);
    buf[n] = '\0';
    const char* paren = std::strrchr(buf, ')');  // the state follows the command name "(...)"
    if (paren && paren[1] == ' ' && paren[2] == 'R') ++running;
  }
  closedir(dir);
  return running;
}

}  // namespace

int affinity_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return 1;
  return std::max(1, CPU_COUNT(&set));
}

bool cpu_has_bfloat16() {
  static const bool has = [] {
    FILE* f = std::fopen("/proc/cpuinfo", "r");
    if (!f) return false;
    char line[16384];
    bool found = false;
    while (!found && std::fgets(line, sizeof(line), f))
      if (std::strncmp(line, "flags", 5) == 0) found = std::strstr(line, " avx512_bf16") || std::strstr(line, " amx_bf16");
    std::fclose(f);
    return found;
  }();
  return has;
}

int free_cpus(int max_threads) {
  max_threads = std::max(1, max_threads);
  const int running = system_running(), own = own_running();
  if (running < 0 || own < 0) return max_threads;
  const int others = std::max(0, running - own);
  return std::clamp(affinity_cpus() - others, 1, max_threads);
}

}  // namespace cropcube
