#include "nl_batch.h"

namespace fstack_kni::netlink {

bool BatchLayout::Parse(const uint8_t* data, size_t size) {
  offsets_.clear();
  malformedOffset_ = 0;
  if (size == 0) {
    return false;
  }

  MessageWalker walker(data, size);
  MessageView message;
  // The walker stops at the first bad header, which starts where the last good message
  // ends, padding included.
  size_t next = 0;
  while (walker.Next(&message)) {
    offsets_.push_back(next);
    next += Align(message.size);
  }
  if (walker.malformed()) {
    malformedOffset_ = next;
    offsets_.clear();
    return false;
  }
  offsets_.push_back(size);
  return true;
}

size_t BatchLayout::DatagramEnd(size_t first, size_t maxBytes, size_t maxMessages) const {
  size_t end = first + 1;
  while (end < count() && end - first < maxMessages &&
         offsets_[end + 1] - offsets_[first] <= maxBytes) {
    ++end;
  }
  return end;
}

}  // namespace fstack_kni::netlink
