// The table of requests waiting for a reply, indexed by sequence number.
//
// Pure C++ like nl_parse.h. Sequence numbers are chosen so that `sequence & mask` is a free
// slot, which makes lookup one array access and leaves no allocation per request once the
// table has grown to the number of requests in flight.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "nl_parse.h"

namespace fstack_kni::netlink {

/** A request sent (or, for a queued dump, about to be sent) and not yet completed. */
struct PendingRequest {
  /** 0 marks a free slot; the kernel echoes this value in nlmsg_seq. */
  uint32_t sequence = 0;
  bool dump = false;
  /** NLM_F_ECHO was set: the kernel sends the notification of the change as a reply. */
  bool echo = false;
  /** Set after an ENOBUFS on the socket: the reply may have been dropped by the kernel. */
  bool replyMayBeLost = false;
  /** Dump attempts sent so far. */
  int attempts = 0;
  /** Dumps only: the request bytes, kept to send again when the dump is interrupted. */
  std::vector<uint8_t> dumpRequest;
  ReplyCollector reply;
};

class RequestTable {
 public:
  RequestTable();

  // Reserves a slot under a fresh sequence number (never 0). The returned reference and
  // any pointer from Find() stay valid only until the next Allocate(), which may grow the
  // table.
  PendingRequest& Allocate();

  /** Returns the request with this sequence number, or nullptr. */
  PendingRequest* Find(uint32_t sequence);

  /** Frees the slot of a completed request. */
  void Release(PendingRequest& request);

  size_t size() const { return count_; }

  /** Sequence numbers of all requests, in ascending order. */
  std::vector<uint32_t> Sequences() const;

  /** Calls `visit(PendingRequest&)` for every request; `visit` may Release() it. */
  template <typename Visitor>
  void ForEach(Visitor visit) {
    for (PendingRequest& request : slots_) {
      if (request.sequence != 0) {
        visit(request);
      }
    }
  }

 private:
  void Grow();

  std::vector<PendingRequest> slots_;
  size_t count_ = 0;
  uint32_t nextSequence_ = 1;
};

}  // namespace fstack_kni::netlink
