// Linear layer through BLAS: out[N,OC] = inp[N,C] . weight[OC,C]^T (+ bias[OC]).
// Invariant: weights are stored (out_features, in_features) like torch.nn.Linear;
// backward WRITES dinp (its old values are never read: in a GPT block each linear
// layer's input gradient has this one writer, so no zeroing pass precedes it) and
// ACCUMULATES into dweight and dbias (gradient accumulation over micro-batches); any
// of the three may be null (skipped), which is how the tied unembedding omits a bias.
#pragma once

namespace ss::model::cpu {

template <typename T>
void matmul_forward(T* out, const T* inp, const T* weight, const T* bias, int N, int C, int OC);

template <typename T>
void matmul_backward(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp, const T* weight,
                     int N, int C, int OC);

// The MLP's first layer and its GELU in one pass over row slices: pre = inp . weight^T +
// bias, out = gelu(pre) (cuBLASLt's GELU_AUX epilogue: pre is kept for the backward).
template <typename T>
void matmul_gelu_forward(T* pre, T* out, const T* inp, const T* weight, const T* bias, int N,
                         int C, int OC);

// matmul_backward of a layer whose input was gelu(pre): dinp = (dout . weight) * gelu'(pre),
// the gradient w.r.t. pre (cuBLASLt's DGELU epilogue); dweight, dbias as matmul_backward.
template <typename T>
void matmul_backward_dgelu(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp,
                           const T* weight, const T* pre, int N, int C, int OC);

// out[N,OC] = residual[N,OC] + inp . weight^T + bias (bias may be null): the
// projection back into the residual stream, without a separate residual pass.
template <typename T>
void matmul_residual_forward(T* out, const T* inp, const T* weight, const T* bias,
                             const T* residual, int N, int C, int OC);

// out[N,OC] += bias[OC]: the bias of a row-parallel layer, added once after the
// all-reduce.
template <typename T>
void bias_add_forward(T* out, const T* bias, int N, int OC);

}  // namespace ss::model::cpu
