#include "nl_requests.h"

#include <algorithm>
#include <utility>

namespace fstack_kni::netlink {

namespace {

constexpr size_t kInitialSlots = 64;
// Kept buffers larger than this are freed when their slot is released.
constexpr size_t kMaxRetainedBytes = 64 * 1024;

}  // namespace

RequestTable::RequestTable() : slots_(kInitialSlots) {}

PendingRequest& RequestTable::Allocate() {
  // At most half full, so the probe below ends after a few steps.
  if ((count_ + 1) * 2 > slots_.size()) {
    Grow();
  }

  size_t mask = slots_.size() - 1;
  uint32_t sequence = nextSequence_;
  while (sequence == 0 || slots_[sequence & mask].sequence != 0) {
    ++sequence;
  }
  nextSequence_ = sequence + 1;

  PendingRequest& request = slots_[sequence & mask];
  request.sequence = sequence;
  ++count_;
  return request;
}

PendingRequest* RequestTable::Find(uint32_t sequence) {
  if (sequence == 0) {
    return nullptr;
  }
  PendingRequest& request = slots_[sequence & (slots_.size() - 1)];
  return request.sequence == sequence ? &request : nullptr;
}

void RequestTable::Release(PendingRequest& request) {
  request.sequence = 0;
  request.dump = false;
  request.echo = false;
  request.replyMayBeLost = false;
  request.attempts = 0;
  request.dumpRequest.clear();
  request.reply.Reset(false);
  if (request.dumpRequest.capacity() > kMaxRetainedBytes) {
    request.dumpRequest.shrink_to_fit();
  }
  if (request.reply.payload().capacity() > kMaxRetainedBytes) {
    request.reply.payload().shrink_to_fit();
  }
  --count_;
}

std::vector<uint32_t> RequestTable::Sequences() const {
  std::vector<uint32_t> sequences;
  sequences.reserve(count_);
  for (const PendingRequest& request : slots_) {
    if (request.sequence != 0) {
      sequences.push_back(request.sequence);
    }
  }
  std::sort(sequences.begin(), sequences.end());
  return sequences;
}

void RequestTable::Grow() {
  // Two live sequence numbers differ in their low bits under the old mask, so they still
  // differ under the wider one and moving them cannot collide (test/netlink/parse.test.ts
  // checks the table against a model).
  std::vector<PendingRequest> grown(slots_.size() * 2);
  size_t mask = grown.size() - 1;
  for (PendingRequest& request : slots_) {
    if (request.sequence != 0) {
      grown[request.sequence & mask] = std::move(request);
    }
  }
  slots_ = std::move(grown);
}

}  // namespace fstack_kni::netlink
