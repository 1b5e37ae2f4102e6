// Check macros around every CUDA runtime call and kernel launch. Invariant: a
// failed call throws ss::model::cuda::CudaError whose what() names the call's
// file:line, the call text, CUDA's error name and string, and the host (on a
// cluster the host says which node's GPU failed). Nothing is ever ignored.
#pragma once

#include <cuda_runtime_api.h>
#include <unistd.h>

#include <array>
#include <stdexcept>
#include <string>

namespace ss::model::cuda {

// A CUDA runtime failure; not an InputError (the user's config is fine).
class CudaError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

inline std::string cuda_host_name() {
  std::array<char, 256> name{};
  if (gethostname(name.data(), name.size() - 1) != 0) return "unknown-host";
  return std::string(name.data());
}

// Throws if `status` is an error; `call` is the source text of the call.
inline void cuda_check(cudaError_t status, const char* call, const char* file, int line) {
  if (status == cudaSuccess) return;
  throw CudaError(std::string("CUDA error at ") + file + ":" + std::to_string(line) + " in " +
                  call + ": " + cudaGetErrorName(status) + " (" + cudaGetErrorString(status) +
                  ") on host " + cuda_host_name());
}

}  // namespace ss::model::cuda

// SS_CUDA(cudaMalloc(&p, n)): throws CudaError with file:line if the call fails.
#define SS_CUDA(call) ::ss::model::cuda::cuda_check((call), #call, __FILE__, __LINE__)

// After every kernel launch: a bad launch configuration is reported here, at the
// launch site, not by some later unrelated call. Does not synchronize.
#define SS_CUDA_LAUNCH_CHECK() \
  ::ss::model::cuda::cuda_check(cudaGetLastError(), "kernel launch", __FILE__, __LINE__)
