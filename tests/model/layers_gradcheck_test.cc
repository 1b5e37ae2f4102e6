// Every layer's backward against central finite differences, in fp64 (relative
// error <= 1e-6 per tensor). Each check uses the scalar objective
// sum(out * R) for a fixed random R, so the analytic gradient is backward(dout = R).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "model/attention.h"
#include "model/cpu_threads.h"
#include "model/crossentropy.h"
#include "model/encoder.h"
#include "model/gelu.h"
#include "model/layernorm.h"
#include "model/matmul.h"
#include "model/pointwise.h"
#include "model/residual.h"
#include "tests/model/gradcheck.h"

namespace ss::model {
namespace {

using testing::numeric_grad;
using testing::random_vector;
using testing::relative_error;

constexpr double kTol = 1e-6;
// The fill of gradients a backward WRITES (matmul's dinp, GELU's, attention's dqkv): NaN,
// so a backward that read its old values instead of overwriting them fails the check.
constexpr double kUnread = std::numeric_limits<double>::quiet_NaN();

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

TEST(LayerGradcheck, Layernorm) {
  const int B = 2, T = 3, C = 5;
  auto inp = random_vector(B * T * C, 1);
  auto w = random_vector(C, 2);
  auto b = random_vector(C, 3);
  const auto R = random_vector(B * T * C, 4);
  std::vector<double> out(B * T * C), mean(B * T), rstd(B * T);
  auto f = [&] {
    cpu::layernorm_forward(out.data(), mean.data(), rstd.data(), inp.data(), w.data(), b.data(), B,
                           T, C);
    return dot(out, R);
  };
  f();
  std::vector<double> dinp(inp.size()), dw(C), db(C);
  cpu::layernorm_backward(dinp.data(), dw.data(), db.data(), R.data(), inp.data(), w.data(),
                          mean.data(), rstd.data(), B, T, C);
  EXPECT_LE(relative_error(dinp.data(), numeric_grad(f, inp.data(), inp.size()).data(), inp.size()),
            kTol);
  EXPECT_LE(relative_error(dw.data(), numeric_grad(f, w.data(), C).data(), C), kTol);
  EXPECT_LE(relative_error(db.data(), numeric_grad(f, b.data(), C).data(), C), kTol);
}

TEST(LayerGradcheck, MatmulWithAndWithoutBias) {
  const int N = 4, C = 6, OC = 5;
  auto inp = random_vector(N * C, 5);
  auto w = random_vector(OC * C, 6);
  auto bias = random_vector(OC, 7);
  const auto R = random_vector(N * OC, 8);
  for (bool with_bias : {true, false}) {
    std::vector<double> out(N * OC);
    auto f = [&] {
      cpu::matmul_forward(out.data(), inp.data(), w.data(), with_bias ? bias.data() : nullptr, N, C,
                          OC);
      return dot(out, R);
    };
    std::vector<double> dinp(inp.size(), kUnread), dw(w.size()), db(OC);
    cpu::matmul_backward(dinp.data(), dw.data(), with_bias ? db.data() : nullptr, R.data(),
                         inp.data(), w.data(), N, C, OC);
    EXPECT_LE(
        relative_error(dinp.data(), numeric_grad(f, inp.data(), inp.size()).data(), inp.size()),
        kTol);
    EXPECT_LE(relative_error(dw.data(), numeric_grad(f, w.data(), w.size()).data(), w.size()),
              kTol);
    if (with_bias) {
      EXPECT_LE(relative_error(db.data(), numeric_grad(f, bias.data(), OC).data(), OC), kTol);
    }
  }
}

TEST(LayerGradcheck, MatmulForwardMatchesNaiveSum) {
  // out[n][o] = sum_c inp[n][c] * w[o][c] + b[o], summed here by hand.
  const int N = 3, C = 4, OC = 2;
  auto inp = random_vector(N * C, 9);
  auto w = random_vector(OC * C, 10);
  auto b = random_vector(OC, 11);
  std::vector<double> out(N * OC);
  cpu::matmul_forward(out.data(), inp.data(), w.data(), b.data(), N, C, OC);
  for (int n = 0; n < N; ++n)
    for (int o = 0; o < OC; ++o) {
      double s = b[o];
      for (int c = 0; c < C; ++c) s += inp[n * C + c] * w[o * C + c];
      EXPECT_NEAR(out[n * OC + o], s, 1e-12);
    }
}

// The linear layers' GEMMs run as row slices over a thread team (cpu/layers_blas.cc):
// at 2 threads, N = 200 rows and OC = 72 are cut into several slices (dinp and dweight in
// one task loop). Against sums by hand in fp64; fp32 at 2 threads against 1 thread, and
// repeated.
TEST(LayerGradcheck, MatmulRowSlicesMatchWholeAndSums) {
  const int N = 200, C = 24, OC = 72;
  const auto inp = random_vector(N * C, 41), w = random_vector(OC * C, 42);
  const auto bias = random_vector(OC, 43), res = random_vector(N * OC, 44);
  const auto dout = random_vector(N * OC, 45);
  const int threads_before = cpu_threads();
  cpu_set_threads(2);
  std::vector<double> out(N * OC), dinp(N * C, kUnread), dw(OC * C, 0.25), db(OC, 0.0);
  cpu::matmul_residual_forward(out.data(), inp.data(), w.data(), bias.data(), res.data(), N, C, OC);
  cpu::matmul_backward(dinp.data(), dw.data(), db.data(), dout.data(), inp.data(), w.data(), N, C,
                       OC);
  for (int n = 0; n < N; ++n) {
    for (int o = 0; o < OC; ++o) {
      double s = res[n * OC + o] + bias[o];
      for (int c = 0; c < C; ++c) s += inp[n * C + c] * w[o * C + c];
      ASSERT_NEAR(out[n * OC + o], s, 1e-12) << n << " " << o;
    }
    for (int c = 0; c < C; ++c) {
      double s = 0;  // written (dweight below is accumulated onto)
      for (int o = 0; o < OC; ++o) s += dout[n * OC + o] * w[o * C + c];
      ASSERT_NEAR(dinp[n * C + c], s, 1e-12) << n << " " << c;
    }
  }
  for (int o = 0; o < OC; ++o) {
    for (int c = 0; c < C; ++c) {
      double s = 0.25;
      for (int n = 0; n < N; ++n) s += dout[n * OC + o] * inp[n * C + c];
      ASSERT_NEAR(dw[o * C + c], s, 1e-11) << o << " " << c;
    }
  }
  // fp32: the same calls at 1 thread, and twice at 2 threads. The slices' row counts
  // change OpenBLAS's last bits (its edge kernels), so 1 vs 2 threads agree to float
  // rounding; a fixed thread count gives the same slices and so identical bits every time
  // (whichever thread takes which slice).
  auto f32 = [](const std::vector<double>& v) { return std::vector<float>(v.begin(), v.end()); };
  const auto fi = f32(inp), fw = f32(w), fb = f32(bias), fr = f32(res), fd = f32(dout);
  std::vector<float> results[3];
  for (int run = 0; run < 3; ++run) {
    cpu_set_threads(run == 0 ? 1 : 2);
    std::vector<float> o(N * OC), di(N * C, std::numeric_limits<float>::quiet_NaN());
    std::vector<float> dwt(OC * C, 0.25f), dbs(OC, 0.0f);
    cpu::matmul_residual_forward(o.data(), fi.data(), fw.data(), fb.data(), fr.data(), N, C, OC);
    cpu::matmul_backward(di.data(), dwt.data(), dbs.data(), fd.data(), fi.data(), fw.data(), N, C,
                         OC);
    for (const auto* v : {&o, &di, &dwt, &dbs}) {
      results[run].insert(results[run].end(), v->begin(), v->end());
    }
  }
  cpu_set_threads(threads_before);
  ASSERT_EQ(results[0].size(), results[1].size());
  for (std::size_t i = 0; i < results[0].size(); ++i) {
    ASSERT_NEAR(results[0][i], results[1][i], 1e-5 * (1 + std::fabs(results[0][i]))) << i;
    ASSERT_EQ(results[1][i], results[2][i]) << i;
  }
}

// The GELU epilogues of the MLP's two GEMMs (matmul_gelu_forward, matmul_backward_dgelu):
// the fused backward against central differences through gelu, then both, at 2 threads
// (N = 200 rows cut into several slices), against the composed layers they replace.
TEST(LayerGradcheck, MatmulGeluEpilogues) {
  {
    const int N = 4, C = 6, OC = 5;
    auto pre = random_vector(N * C, 51, 2.0);
    const auto w = random_vector(OC * C, 52), bias = random_vector(OC, 53);
    const auto R = random_vector(N * OC, 54);
    std::vector<double> act(N * C), out(N * OC);
    auto f = [&] {
      cpu::gelu_forward(act.data(), pre.data(), act.size());
      cpu::matmul_forward(out.data(), act.data(), w.data(), bias.data(), N, C, OC);
      return dot(out, R);
    };
    f();
    std::vector<double> dpre(N * C, kUnread), dw(OC * C), db(OC);
    cpu::matmul_backward_dgelu(dpre.data(), dw.data(), db.data(), R.data(), act.data(), w.data(),
                               pre.data(), N, C, OC);
    EXPECT_LE(relative_error(dpre.data(), numeric_grad(f, pre.data(), pre.size()).data(), N * C),
              kTol);
  }
  const int N = 200, C = 24, OC = 72;
  const auto inp = random_vector(N * C, 55, 2.0), w = random_vector(OC * C, 56);
  const auto bias = random_vector(OC, 57), dout = random_vector(N * OC, 58);
  const int threads_before = cpu_threads();
  cpu_set_threads(2);
  // Forward: pre = inp . w^T + bias, out = gelu(pre).
  std::vector<double> pre(N * OC), out(N * OC), pre2(N * OC), out2(N * OC);
  cpu::matmul_gelu_forward(pre.data(), out.data(), inp.data(), w.data(), bias.data(), N, C, OC);
  cpu::matmul_forward(pre2.data(), inp.data(), w.data(), bias.data(), N, C, OC);
  cpu::gelu_forward(out2.data(), pre2.data(), out2.size());
  for (int i = 0; i < N * OC; ++i) {
    ASSERT_EQ(pre[i], pre2[i]) << i;  // the same GEMM slices
    ASSERT_NEAR(out[i], out2[i], 1e-14 * (1 + std::fabs(out2[i]))) << i;
  }
  // Backward of a layer whose input was gelu(pre): here inp2 = gelu(pre_in) of N x C.
  const auto pre_in = random_vector(N * C, 59, 2.0);
  std::vector<double> inp2(N * C);
  cpu::gelu_forward(inp2.data(), pre_in.data(), inp2.size());
  std::vector<double> dpre(N * C, kUnread), dw(OC * C, 0.25), db(OC, 0.5);
  cpu::matmul_backward_dgelu(dpre.data(), dw.data(), db.data(), dout.data(), inp2.data(), w.data(),
                             pre_in.data(), N, C, OC);
  std::vector<double> dact(N * C), dpre2(N * C), dw2(OC * C, 0.25), db2(OC, 0.5);
  cpu::matmul_backward(dact.data(), dw2.data(), db2.data(), dout.data(), inp2.data(), w.data(), N, C,
                       OC);
  cpu::gelu_backward(dpre2.data(), pre_in.data(), dact.data(), dpre2.size());
  cpu_set_threads(threads_before);
  for (int i = 0; i < N * C; ++i) {
    ASSERT_NEAR(dpre[i], dpre2[i], 1e-14 * (1 + std::fabs(dpre2[i]))) << i;
  }
  EXPECT_EQ(dw, dw2);  // accumulated onto 0.25, as matmul_backward
  EXPECT_EQ(db, db2);
}

TEST(LayerGradcheck, Attention) {
  // (B, T, C, NH): head sizes 3 and 12 take the direct kernels with 16 padded columns,
  // 18 the 32-column ones (T 21: two score blocks, the second partial), 40 the blocked
  // BLAS path (cpu/attention_rows.h: kAttDirectMaxHead).
  const int shapes[][4] = {{2, 4, 6, 2}, {1, 7, 24, 2}, {1, 21, 36, 2}, {1, 5, 80, 2}};
  for (const auto& [B, T, C, NH] : shapes) {
    auto qkv = random_vector(B * T * 3 * C, 12);
    const auto R = random_vector(B * T * C, 13);
    std::vector<double> out(B * T * C), att(B * NH * T * T), scratch(B * NH * T * T);
    auto f = [&] {
      cpu::attention_forward(out.data(), att.data(), qkv.data(), B, T, C, NH);
      return dot(out, R);
    };
    f();
    std::vector<double> dqkv(qkv.size(), kUnread);
    cpu::attention_backward(dqkv.data(), scratch.data(), R.data(), qkv.data(), att.data(), B, T, C,
                            NH);
    EXPECT_LE(
        relative_error(dqkv.data(), numeric_grad(f, qkv.data(), qkv.size()).data(), qkv.size()),
        kTol)
        << "T " << T << " head size " << C / NH;
  }
}

TEST(LayerGradcheck, AttentionPathsAgree) {
  // The direct kernels and the blocked BLAS path compute the same attention: a head of
  // 32 (direct) against the same head run as one of 40 whose last 8 columns of q, k
  // are zero and of v are zero (blocked); T 70 spans two BLAS row blocks.
  const int B = 1, T = 70, NH = 1;
  const int Cs = 32, Cb = 40;
  const auto base = random_vector(B * T * 3 * Cs, 31);
  std::vector<double> small(base), big(B * T * 3 * Cb, 0.0);
  for (int t = 0; t < T; ++t) {
    for (int part = 0; part < 3; ++part) {
      for (int c = 0; c < Cs; ++c)
        big[t * 3 * Cb + part * Cb + c] = base[t * 3 * Cs + part * Cs + c];
    }
  }
  // Same softmax scale 1/sqrt(hs) on both sides: scale the big q by sqrt(40/32).
  for (int t = 0; t < T; ++t) {
    for (int c = 0; c < Cs; ++c) big[t * 3 * Cb + c] *= std::sqrt(double(Cb) / Cs);
  }
  std::vector<double> out_s(T * Cs), out_b(T * Cb), att_s(T * T), att_b(T * T);
  cpu::attention_forward(out_s.data(), att_s.data(), small.data(), B, T, Cs, NH);
  cpu::attention_forward(out_b.data(), att_b.data(), big.data(), B, T, Cb, NH);
  for (int i = 0; i < T * T; ++i) EXPECT_NEAR(att_s[i], att_b[i], 1e-12) << i;
  for (int t = 0; t < T; ++t) {
    for (int c = 0; c < Cs; ++c) EXPECT_NEAR(out_s[t * Cs + c], out_b[t * Cb + c], 1e-12);
  }
  // Backward, the same d(out) on the shared columns: the blocked path (its blocks run last
  // first, the last one writing all of dk, dv) against the direct one, whose gradient the
  // Attention gradcheck checks. q_b = s q_s gives d q_b = d q_s / s; dk, dv are equal.
  const auto dout_s = random_vector(T * Cs, 32);
  std::vector<double> dout_b(T * Cb, 0.0);
  for (int t = 0; t < T; ++t) {
    for (int c = 0; c < Cs; ++c) dout_b[t * Cb + c] = dout_s[t * Cs + c];
  }
  std::vector<double> dqkv_s(small.size(), kUnread), dqkv_b(big.size(), kUnread);
  std::vector<double> scratch_s(T * T), scratch_b(T * T);
  cpu::attention_backward(dqkv_s.data(), scratch_s.data(), dout_s.data(), small.data(),
                          att_s.data(), B, T, Cs, NH);
  cpu::attention_backward(dqkv_b.data(), scratch_b.data(), dout_b.data(), big.data(), att_b.data(),
                          B, T, Cb, NH);
  const double s = std::sqrt(double(Cb) / Cs);
  for (int t = 0; t < T; ++t) {
    for (int part = 0; part < 3; ++part) {
      for (int c = 0; c < Cb; ++c) {
        const double b = dqkv_b[t * 3 * Cb + part * Cb + c];
        if (c >= Cs) {
          EXPECT_EQ(b, 0.0) << t << " " << part << " " << c;  // zero q, k, v, dout columns
          continue;
        }
        const double expect = dqkv_s[t * 3 * Cs + part * Cs + c] / (part == 0 ? s : 1.0);
        EXPECT_NEAR(b, expect, 1e-12 * (1 + std::fabs(expect))) << t << " " << part << " " << c;
      }
    }
  }
}

TEST(LayerGradcheck, AttentionIsCausal) {
  // Changing the last position's k and v must not change earlier outputs.
  const int B = 1, T = 4, C = 4, NH = 2;
  auto qkv = random_vector(B * T * 3 * C, 14);
  std::vector<double> out1(B * T * C), out2(B * T * C), att(B * NH * T * T);
  cpu::attention_forward(out1.data(), att.data(), qkv.data(), B, T, C, NH);
  for (int i = C; i < 3 * C; ++i) qkv[(T - 1) * 3 * C + i] += 1.0;
  cpu::attention_forward(out2.data(), att.data(), qkv.data(), B, T, C, NH);
  for (int i = 0; i < (T - 1) * C; ++i) EXPECT_EQ(out1[i], out2[i]) << i;
  bool last_changed = false;
  for (int i = (T - 1) * C; i < T * C; ++i) last_changed |= out1[i] != out2[i];
  EXPECT_TRUE(last_changed);
}

TEST(LayerGradcheck, Gelu) {
  const std::size_t N = 20;
  auto inp = random_vector(N, 15, 3.0);
  const auto R = random_vector(N, 16);
  std::vector<double> out(N);
  auto f = [&] {
    cpu::gelu_forward(out.data(), inp.data(), N);
    return dot(out, R);
  };
  std::vector<double> dinp(N, kUnread);
  cpu::gelu_backward(dinp.data(), inp.data(), R.data(), N);
  EXPECT_LE(relative_error(dinp.data(), numeric_grad(f, inp.data(), N).data(), N), kTol);
}

TEST(LayerGradcheck, GeluValues) {
  // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) evaluated here from the formula.
  for (double x : {-2.0, -0.5, 0.0, 1.0, 3.0}) {
    const double expect =
        0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
    EXPECT_NEAR(gelu_tanh(x), expect, 1e-15);
  }
}

TEST(LayerGradcheck, GeluLargeInputsStayFinite) {
  // The float GELU loop is built with -ffast-math: large |x| must not turn the
  // exp overflow into NaN (it did before tanh_via_exp clamped its argument), nor
  // the reciprocal estimate of the vectorized division into a wrong slope (it did
  // with 1 thread, where all of these went through the vector path). 1 thread and
  // 2 threads split the 24 values differently between vector and scalar code.
  const std::vector<float> big = {-1e4f, -100.f, -20.f, 20.f, 100.f, 1e4f};
  std::vector<float> in;
  for (int r = 0; r < 4; ++r) in.insert(in.end(), big.begin(), big.end());
  const std::vector<float> ones(in.size(), 1.f);
  const int threads_before = cpu_threads();
  for (int threads : {1, 2}) {
    SCOPED_TRACE(threads);
    cpu_set_threads(threads);
    std::vector<float> out(in.size()), din(in.size(), 0.f);
    cpu::gelu_forward(out.data(), in.data(), in.size());
    cpu::gelu_backward(din.data(), in.data(), ones.data(), in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
      ASSERT_TRUE(std::isfinite(out[i])) << in[i];
      ASSERT_TRUE(std::isfinite(din[i])) << in[i];
      // GELU(x) -> x for large positive x and -> 0 for large negative x; the slope
      // -> 1 and 0 respectively.
      EXPECT_NEAR(out[i], in[i] > 0 ? in[i] : 0.f, 1e-5f * std::abs(in[i])) << in[i];
      EXPECT_NEAR(din[i], in[i] > 0 ? 1.f : 0.f, 1e-5f) << in[i];
    }
  }
  cpu_set_threads(threads_before);
}

TEST(LayerGradcheck, Residual) {
  const std::size_t N = 7;
  auto a = random_vector(N, 17);
  auto b = random_vector(N, 18);
  const auto R = random_vector(N, 19);
  std::vector<double> out(N);
  auto f = [&] {
    cpu::residual_forward(out.data(), a.data(), b.data(), N);
    return dot(out, R);
  };
  std::vector<double> da(N), db(N);
  cpu::residual_backward(da.data(), db.data(), R.data(), N);
  EXPECT_LE(relative_error(da.data(), numeric_grad(f, a.data(), N).data(), N), kTol);
  EXPECT_LE(relative_error(db.data(), numeric_grad(f, b.data(), N).data(), N), kTol);
}

TEST(LayerGradcheck, Encoder) {
  const int B = 2, T = 3, C = 4, V = 5;
  const std::vector<int32_t> tokens = {1, 4, 1, 0, 1, 3};  // token 1 repeats: rows accumulate
  auto wte = random_vector(V * C, 20);
  auto wpe = random_vector(T * C, 21);
  const auto R = random_vector(B * T * C, 22);
  std::vector<double> out(B * T * C);
  auto f = [&] {
    cpu::encoder_forward(out.data(), tokens.data(), wte.data(), wpe.data(), B, T, C);
    return dot(out, R);
  };
  std::vector<double> dwte(wte.size()), dwpe(wpe.size());
  cpu::encoder_backward(dwte.data(), dwpe.data(), R.data(), tokens.data(), B, T, C);
  EXPECT_LE(relative_error(dwte.data(), numeric_grad(f, wte.data(), wte.size()).data(), wte.size()),
            kTol);
  EXPECT_LE(relative_error(dwpe.data(), numeric_grad(f, wpe.data(), wpe.size()).data(), wpe.size()),
            kTol);
}

TEST(LayerGradcheck, CrossEntropy) {
  const int B = 2, T = 3, V = 6;
  const std::vector<int32_t> targets = {0, 5, 2, 2, 1, 4};
  auto logits = random_vector(B * T * V, 23, 2.0);
  std::vector<double> losses(B * T), probs(B * T * V);
  auto f = [&] {
    cpu::crossentropy_softmax_forward(losses.data(), probs.data(), logits.data(), targets.data(), B,
                                      T, V);
    double s = 0;
    for (double l : losses) s += l;
    return s / (B * T);
  };
  f();
  // The loss of a row is log(sum exp) - logit[target], computed here directly.
  for (int bt = 0; bt < B * T; ++bt) {
    double se = 0;
    for (int v = 0; v < V; ++v) se += std::exp(logits[bt * V + v]);
    EXPECT_NEAR(losses[bt], std::log(se) - logits[bt * V + targets[bt]], 1e-12);
  }
  std::vector<double> dlogits(logits.size());
  cpu::crossentropy_softmax_backward(dlogits.data(), probs.data(), targets.data(), 1.0 / (B * T), B,
                                     T, V);
  EXPECT_LE(relative_error(dlogits.data(), numeric_grad(f, logits.data(), logits.size()).data(),
                           logits.size()),
            kTol);
}

}  // namespace
}  // namespace ss::model
