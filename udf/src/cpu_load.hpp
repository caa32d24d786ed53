// CPU facts for the kernel's defaults: how many CPUs are free right now, native bfloat16. Torch-free.
//
// With OpenMP threads that spin at every barrier (GNU libgomp, libtorch's runtime here), running more
// threads than there are free CPUs makes a forward pass wait for threads that other processes have
// pushed off their cores: one busy process on one of two cores slowed the kernel 17x. So the default
// is the CPUs this process may use less the tasks of other processes running at this moment.
#pragma once

namespace cropcube {

// CPUs in this process's affinity mask, less the runnable tasks of other processes (the system's
// runnable count from /proc/loadavg less this process's own running threads), clamped to
// [1, max_threads]. max_threads when /proc cannot be read.
int free_cpus(int max_threads);

// CPUs in this process's affinity mask (at least 1).
int affinity_cpus();

// The CPU has native bfloat16 dot products (avx512_bf16 or amx_bf16 in /proc/cpuinfo).
bool cpu_has_bfloat16();

}  // namespace cropcube
