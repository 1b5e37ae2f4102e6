// The fault suite's sweep material: token shards written byte by byte in the documented format
// (model/io/shard.h, so the test does not trust the writer it checks), a tiny sweep file, and
// the command lines of the real binaries (scalesweep under real mpirun, scalefit), run as the
// test's user or, where root ignores permissions, as `nobody` through setpriv.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "tests/faults/fault_harness.h"

#ifndef SCALESWEEP_BIN
#error "SCALESWEEP_BIN must name the scalesweep binary"
#endif

namespace ss::faults {

// A shard: 32-byte header (magic, version 1, vocab, count, 0) then u16 tokens. `count` may lie
// (a truncated file) when given.
inline void write_shard(const fs::path& path, const std::vector<std::uint16_t>& tokens,
                        std::uint32_t vocab = 256, std::int64_t count = -1) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  const char magic[8] = {'S', 'S', 'T', 'O', 'K', 0, 0, 0};
  const std::uint32_t version = 1;
  const std::uint64_t n = count < 0 ? tokens.size() : static_cast<std::uint64_t>(count),
                      reserved = 0;
  out.write(magic, 8);
  out.write(reinterpret_cast<const char*>(&version), 4);
  out.write(reinterpret_cast<const char*>(&vocab), 4);
  out.write(reinterpret_cast<const char*>(&n), 8);
  out.write(reinterpret_cast<const char*>(&reserved), 8);
  out.write(reinterpret_cast<const char*>(tokens.data()),
            static_cast<std::streamsize>(tokens.size() * 2));
}

// `n` byte-level tokens of a repeating English-like text.
inline std::vector<std::uint16_t> text_tokens(std::size_t n) {
  static const std::string text = "the cat sat on the mat and the dog ran to it. then ";
  std::vector<std::uint16_t> t(n);
  for (std::size_t i = 0; i < n; ++i)
    t[i] = static_cast<unsigned char>(text[(i * 7 + i / 13) % text.size()]);
  return t;
}

// A sweep of tiny models (1 layer, n_ctx 16, 64-token steps, 4 steps each); each field is the
// text of its lines, so a case replaces just the part it breaks.
struct SweepToml {
  std::string data = "tokenizer = \"bytes\"\ntrain = \"train.bin\"\nval = \"val.bin\"\n";
  std::string n_layer = "[1]";
  std::string d_model = "[16]";
  std::string tokens = "[256]";  // tokens.absolute: 64 tokens a step, so 4 steps
  std::string seeds = "[1, 2]";
  std::string schedule = "checkpoint_dir = \"ckpt\"\n";
  std::string text() const {
    return "name = \"faults\"\n[data]\n" + data + "[model]\nn_layer = " + n_layer +
           "\nd_model = " + d_model +
           "\nd_head = 8\nn_ctx = 16\n[tokens]\nabsolute = " + tokens +
           "\n[train]\nbatch_tokens = 64\nmicro_batch = 4\nlr = [1e-2]\nwarmup_steps = 1\n"
           "seeds = " +
           seeds +
           "\n[schedule]\neval_interval = 2\neval_tokens = 32\ncheckpoint_interval = 2\n"
           "keep_checkpoints = 1\n" +
           schedule;
  }
};

// Writes train.bin, val.bin and sweep.toml (from `toml`) into `dir`.
inline void write_sweep(const fs::path& dir, const SweepToml& toml = {}) {
  write_shard(dir / "train.bin", text_tokens(4000));
  write_shard(dir / "val.bin", text_tokens(600));
  write_text(dir / "sweep.toml", toml.text());
}

inline std::string scalesweep() {
  return SCALESWEEP_BIN;
}

// `mpirun -np N scalesweep run ARGS` with a 120 s guard (a hang is a failure, exit 124).
inline std::string mpirun_run(const std::string& args, int np = 2) {
  return "timeout 120 mpirun --oversubscribe -np " + std::to_string(np) +
         " -x OMP_NUM_THREADS -x OPENBLAS_NUM_THREADS " + scalesweep() + " run " + args +
         " --summary-seconds 1000";
}

// `cmd` as the unprivileged user nobody when the test runs as root (root ignores file
// permissions); nullopt-like "" when that is impossible here.
inline std::string as_unprivileged(const std::string& cmd) {
  if (::geteuid() != 0) return cmd;
  return "setpriv --reuid=65534 --regid=65534 --clear-groups -- /bin/sh -c " + sh_quote(cmd);
}

}  // namespace ss::faults
