// Causal multi-head self-attention on a packed qkv tensor.
// Layout: qkv is (B, T, 3*C) holding [q | k | v], each C = NH*hs wide, head h in
// columns h*hs..(h+1)*hs of each part; out is (B, T, C); att is (B, NH, T, T)
// softmax probabilities with zeros above the diagonal. With tensor parallelism C
// and NH are this rank's share (C/tp, NH/tp). Backward WRITES dqkv (its old values
// are never read) and uses `scratch` (B*NH*T*T values, overwritten) for d(att).
#pragma once

namespace ss::model::cpu {

template <typename T>
void attention_forward(T* out, T* att, const T* qkv, int B, int T_, int C, int NH);

template <typename T>
void attention_backward(T* dqkv, T* scratch, const T* dout, const T* qkv, const T* att, int B,
                        int T_, int C, int NH);

}  // namespace ss::model::cpu
