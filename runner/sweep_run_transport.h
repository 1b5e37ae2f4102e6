// Point-to-point transport of protocol messages over MPI_COMM_WORLD for `scalesweep run`.
// Invariant: every runner message travels with tag kMessageTag on MPI_COMM_WORLD (the group
// communicators carry only the trainer's collectives), and every receive decodes with the
// bounds-checked decoder, so a corrupt message becomes a ProtocolError, never UB. MPI keeps
// messages of one sender in order, which rank 0 relies on (metrics before the checkpoint or
// outcome that follows them).
#pragma once

#include <mpi.h>

#include <chrono>
#include <optional>
#include <thread>
#include <vector>

#include "model/comm_mpi.h"
#include "runner/protocol.h"

namespace ss::runner {

inline constexpr int kMessageTag = 7301;

inline void send_message(int dest, const protocol::Message& message) {
  const std::vector<std::byte> bytes = protocol::encode_message(message);
  SS_MPI(MPI_Send(bytes.data(), static_cast<int>(bytes.size()), MPI_BYTE, dest, kMessageTag,
                  MPI_COMM_WORLD));
}

// Like send_message, but returns only once `dest` has received the message (MPI_Ssend). An
// eager MPI_Send may return while the bytes still wait in the sender's queue, which never
// drains if the sender is then stopped (SIGSTOP, a hang); a sender that acts on the receiver
// knowing (the leader prunes older checkpoint files once rank 0 has the new one's record) uses
// this. Rank 0 polls without pause, so the wait is short.
inline void send_message_synchronous(int dest, const protocol::Message& message) {
  const std::vector<std::byte> bytes = protocol::encode_message(message);
  SS_MPI(MPI_Ssend(bytes.data(), static_cast<int>(bytes.size()), MPI_BYTE, dest, kMessageTag,
                   MPI_COMM_WORLD));
}

struct ReceivedMessage {
  int source = -1;
  protocol::Message message;
};

// Receives the message `status` describes (after a probe).
inline ReceivedMessage receive_probed(const MPI_Status& status) {
  int count = 0;
  SS_MPI(MPI_Get_count(&status, MPI_BYTE, &count));
  std::vector<std::byte> bytes(static_cast<std::size_t>(count));
  SS_MPI(MPI_Recv(bytes.data(), count, MPI_BYTE, status.MPI_SOURCE, kMessageTag, MPI_COMM_WORLD,
                  MPI_STATUS_IGNORE));
  return {status.MPI_SOURCE, protocol::decode_message(bytes)};
}

// Blocks until a message from `source` (or MPI_ANY_SOURCE) arrives.
inline ReceivedMessage receive_message(int source) {
  MPI_Status status;
  SS_MPI(MPI_Probe(source, kMessageTag, MPI_COMM_WORLD, &status));
  return receive_probed(status);
}

// A message if one is waiting, else nullopt (never blocks).
std::optional<ReceivedMessage> try_receive_message(int source);

// Like receive_message, but waits by polling with short sleeps instead of MPI_Probe's busy
// loop, so an idle worker leaves its core to the ranks that work (rank 0 on an oversubscribed
// node). Adds at most `poll` latency.
inline ReceivedMessage receive_message_sleeping(int source, std::chrono::microseconds poll) {
  for (;;) {
    if (auto received = try_receive_message(source)) return std::move(*received);
    std::this_thread::sleep_for(poll);
  }
}

// A message if one is waiting, else nullopt (never blocks).
inline std::optional<ReceivedMessage> try_receive_message(int source) {
  int flag = 0;
  MPI_Status status;
  SS_MPI(MPI_Iprobe(source, kMessageTag, MPI_COMM_WORLD, &flag, &status));
  if (!flag) return std::nullopt;
  return receive_probed(status);
}

// MPI ranks on this host (MPI_COMM_TYPE_SHARED), whatever launched them. Collective over
// MPI_COMM_WORLD: every rank calls it at the same point of the start-up handshake.
inline int count_ranks_on_node() {
  MPI_Comm node = MPI_COMM_NULL;
  SS_MPI(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node));
  int size = 1;
  const int rc = MPI_Comm_size(node, &size);
  MPI_Comm_free(&node);
  SS_MPI(rc);
  return size;
}

}  // namespace ss::runner
