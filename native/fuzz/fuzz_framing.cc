// libFuzzer target: message framing of one received datagram (ReadHeader, MessageWalker),
// as RouteSocket::Dispatch walks every datagram read from the socket.
//
// The same bytes also go through PacketInfoGroup as a recvmsg control buffer.
//
// Invariants: every message lies inside the input and starts where the previous one ended
// (after padding). Its length is at least a header, and its header equals its bytes. The
// walker either consumes the whole datagram or reports it malformed, and stays ended.
#include <linux/netlink.h>
#include <sys/socket.h>

#include <cstring>

#include "../nl_parse.h"
#include "fuzz_check.h"

using fstack_kni::netlink::Align;
using fstack_kni::netlink::kHeaderSize;
using fstack_kni::netlink::MessageHeader;
using fstack_kni::netlink::MessageView;
using fstack_kni::netlink::MessageWalker;
using fstack_kni::netlink::PacketInfoGroup;
using fstack_kni::netlink::ReadHeader;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  MessageHeader header;
  FUZZ_CHECK(ReadHeader(data, size, &header) == (size >= kHeaderSize));

  MessageWalker walker(data, size);
  MessageView message;
  size_t expectedOffset = 0;
  while (walker.Next(&message)) {
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

  // A group can only come from a whole NETLINK_PKTINFO control message.
  if (PacketInfoGroup(data, size) != 0) {
    FUZZ_CHECK(size >= CMSG_LEN(sizeof(nl_pktinfo)));
  }
  return 0;
}
