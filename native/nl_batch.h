// Framing of a request batch: netlink messages packed back to back into one buffer, each at
// a 4-byte aligned offset, as the kernel steps through the messages of one datagram.
//
// Pure C++ like nl_parse.h, so the fuzzer and the parse test driver link it alone. The
// buffer comes from JavaScript: nothing here trusts a length field before checking it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "nl_parse.h"

namespace fstack_kni::netlink {

/** The messages of a request batch and the datagrams that carry them. */
class BatchLayout {
 public:
  // Finds the messages of `data`. Returns false when `size` is 0, or when a header is
  // truncated or its nlmsg_len is below kHeaderSize or runs past the end. malformedOffset()
  // then returns where. The last message may omit its padding, as MessageWalker allows.
  bool Parse(const uint8_t* data, size_t size);

  size_t count() const { return offsets_.empty() ? 0 : offsets_.size() - 1; }

  /** Start of message `index`; offset(count()) is the size of the buffer. */
  size_t offset(size_t index) const { return offsets_[index]; }

  /** Offset of the message that made Parse() fail. */
  size_t malformedOffset() const { return malformedOffset_; }

  // Returns the index after the last message of the datagram that starts with message
  // `first`: at most `maxMessages` messages and `maxBytes` bytes, but at least one message
  // even when that one is larger. `first` must be below count().
  size_t DatagramEnd(size_t first, size_t maxBytes, size_t maxMessages) const;

 private:
  std::vector<size_t> offsets_;
  size_t malformedOffset_ = 0;
};

}  // namespace fstack_kni::netlink
