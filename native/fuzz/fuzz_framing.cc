// libFuzzer target: message framing of one received datagram (ReadHeader, MessageWalker),
// as RouteSocket::Dispatch walks every datagram read from the socket, and of a request
// batch (BatchLayout), as RouteSocket::Batch splits the buffer it gets from JavaScript.
//
// The same bytes also go through PacketInfoGroup as a recvmsg control buffer.
//
// Invariants: every message lies inside the input and starts where the previous one ended
// (after padding). Its length is at least a header, and its header equals its bytes. The
// walker either consumes the whole datagram or reports it malformed, and stays ended.
// BatchLayout finds the same messages, or fails where the walker stopped. Its datagrams
// cover the messages in order, each within the limits unless it is one larger message,
// and each as long as the limits allow.
#include <linux/netlink.h>
#include <sys/socket.h>

#include <cstring>
#include <vector>

#include "../nl_batch.h"
#include "../nl_parse.h"
#include "fuzz_check.h"

using fstack_kni::netlink::Align;
using fstack_kni::netlink::BatchLayout;
using fstack_kni::netlink::kHeaderSize;
using fstack_kni::netlink::MessageHeader;
using fstack_kni::netlink::MessageView;
using fstack_kni::netlink::MessageWalker;
using fstack_kni::netlink::PacketInfoGroup;
using fstack_kni::netlink::ReadHeader;

namespace {

void CheckDatagrams(const BatchLayout& layout, size_t maxBytes, size_t maxMessages) {
  size_t first = 0;
  while (first < layout.count()) {
    size_t end = layout.DatagramEnd(first, maxBytes, maxMessages);
    FUZZ_CHECK(end > first && end <= layout.count());
    FUZZ_CHECK(end - first <= maxMessages);
    size_t bytes = layout.offset(end) - layout.offset(first);
    FUZZ_CHECK(end - first == 1 || bytes <= maxBytes);
    if (end < layout.count() && end - first < maxMessages) {
      FUZZ_CHECK(layout.offset(end + 1) - layout.offset(first) > maxBytes);
    }
    first = end;
  }
  FUZZ_CHECK(first == layout.count());
}

// Checks BatchLayout against the messages the walker found in the same input.
void CheckBatch(const uint8_t* data, size_t size, const std::vector<size_t>& starts, bool malformed,
                size_t stoppedAt) {
  BatchLayout layout;
  bool parsed = layout.Parse(data, size);
  FUZZ_CHECK(parsed == (size > 0 && !malformed));
  if (!parsed) {
    FUZZ_CHECK(layout.count() == 0);
    FUZZ_CHECK(layout.malformedOffset() == (size == 0 ? 0 : stoppedAt));
    return;
  }

  FUZZ_CHECK(layout.count() == starts.size());
  for (size_t i = 0; i < starts.size(); ++i) {
    FUZZ_CHECK(layout.offset(i) == starts[i]);
    FUZZ_CHECK(layout.offset(i + 1) > layout.offset(i));
  }
  FUZZ_CHECK(layout.offset(layout.count()) == size);

  // The production limits (64 KiB, 256 messages) and small ones that split often.
  const size_t limits[][2] = {{64 * 1024, 256}, {16, 1}, {64, 3}, {200, 1000}};
  for (const auto& limit : limits) {
    CheckDatagrams(layout, limit[0], limit[1]);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  MessageHeader header;
  FUZZ_CHECK(ReadHeader(data, size, &header) == (size >= kHeaderSize));

  MessageWalker walker(data, size);
  MessageView message;
  size_t expectedOffset = 0;
  std::vector<size_t> starts;
  while (walker.Next(&message)) {
    starts.push_back(expectedOffset);
    FUZZ_CHECK(message.bytes == data + expectedOffset);
    FUZZ_CHECK(message.size == message.header.length);
    FUZZ_CHECK(message.size >= kHeaderSize);
    FUZZ_CHECK(message.size <= size - expectedOffset);
    TouchBytes(message.bytes, message.size);

    MessageHeader reread;
    FUZZ_CHECK(ReadHeader(message.bytes, message.size, &reread));
    FUZZ_CHECK(reread.length == message.header.length && reread.type == message.header.type &&
               reread.flags == message.header.flags && reread.sequence == message.header.sequence &&
               reread.portId == message.header.portId);

    size_t step = Align(message.size);
    expectedOffset = step > size - expectedOffset ? size : expectedOffset + step;
  }

  if (walker.malformed()) {
    FUZZ_CHECK(expectedOffset < size);
  } else {
    FUZZ_CHECK(expectedOffset == size);
  }
  FUZZ_CHECK(!walker.Next(&message));

  CheckBatch(data, size, starts, walker.malformed(), expectedOffset);

  // A group can only come from a whole NETLINK_PKTINFO control message.
  if (PacketInfoGroup(data, size) != 0) {
    FUZZ_CHECK(size >= CMSG_LEN(sizeof(nl_pktinfo)));
  }
  return 0;
}
