// libFuzzer target: NLMSG_ERROR and NLMSG_DONE payloads with their extended-ack attributes
// (ParseError, ParseDone), applied to every message of a datagram whatever its type.
//
// Also IsPlainAck on the whole datagram, as RouteSocket::ReadAckNow checks it right after
// a send.
//
// Invariants: a parse succeeds exactly when the payload contains a valid error code, and
// then the errno is that code negated. The extended-ack text is a NUL-free view inside the
// message, and the offset is -1 or a 32-bit value. A plain ack is one NLMSG_ERROR of
// kPlainAckSize bytes with error 0, and matches only its own sequence number and port.
#include <linux/netlink.h>

#include <climits>
#include <cstring>

#include "../nl_parse.h"
#include "fuzz_check.h"

using fstack_kni::netlink::Acknowledgement;
using fstack_kni::netlink::IsPlainAck;
using fstack_kni::netlink::kHeaderSize;
using fstack_kni::netlink::kPlainAckSize;
using fstack_kni::netlink::MessageHeader;
using fstack_kni::netlink::MessageView;
using fstack_kni::netlink::MessageWalker;
using fstack_kni::netlink::ParseDone;
using fstack_kni::netlink::ParseError;
using fstack_kni::netlink::ReadHeader;

namespace {

void CheckExtack(const MessageView& message, const Acknowledgement& ack) {
  if (!ack.extackMessage.empty()) {
    const auto* text = reinterpret_cast<const uint8_t*>(ack.extackMessage.data());
    FUZZ_CHECK(text >= message.bytes + kHeaderSize);
    FUZZ_CHECK(text + ack.extackMessage.size() <= message.bytes + message.size);
    FUZZ_CHECK(std::memchr(text, 0, ack.extackMessage.size()) == nullptr);
    TouchBytes(text, ack.extackMessage.size());
  }
  FUZZ_CHECK(ack.extackOffset >= -1 && ack.extackOffset <= int64_t{UINT32_MAX});
}

// Reads the kernel's `int error` right after the header, when the payload contains one.
bool ErrorCode(const MessageView& message, int32_t* code) {
  if (message.size < kHeaderSize + sizeof(int32_t)) {
    return false;
  }
  std::memcpy(code, message.bytes + kHeaderSize, sizeof *code);
  return true;
}

// Checks IsPlainAck with the sequence number and port id the datagram itself carries, so
// that a match is reachable, and with others, which must not match.
void CheckPlainAck(const uint8_t* data, size_t size) {
  MessageHeader header;
  if (!ReadHeader(data, size, &header)) {
    FUZZ_CHECK(!IsPlainAck(data, size, 0, 0));
    return;
  }
  if (!IsPlainAck(data, size, header.sequence, header.portId)) {
    return;
  }
  int32_t error = -1;
  std::memcpy(&error, data + kHeaderSize, sizeof error);
  FUZZ_CHECK(size == kPlainAckSize && header.length == kPlainAckSize);
  FUZZ_CHECK(header.type == NLMSG_ERROR && error == 0);
  FUZZ_CHECK((header.flags & NLM_F_ACK_TLVS) == 0);
  FUZZ_CHECK(!IsPlainAck(data, size, header.sequence + 1, header.portId));
  FUZZ_CHECK(!IsPlainAck(data, size, header.sequence, header.portId + 1));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  CheckPlainAck(data, size);

  MessageWalker walker(data, size);
  MessageView message;
  while (walker.Next(&message)) {
    int32_t code = 0;
    bool hasCode = ErrorCode(message, &code);
    bool validCode = hasCode && code <= 0 && code != INT32_MIN;

    Acknowledgement error;
    bool parsed = ParseError(message, &error);
    FUZZ_CHECK(parsed == validCode);
    if (parsed) {
      FUZZ_CHECK(error.error == -code);
      CheckExtack(message, error);
      if ((message.header.flags & NLM_F_ACK_TLVS) == 0) {
        FUZZ_CHECK(error.extackMessage.empty() && error.extackOffset == -1);
      }
    }

    Acknowledgement done;
    parsed = ParseDone(message, &done);
    FUZZ_CHECK(parsed == (!hasCode || validCode));
    if (parsed) {
      FUZZ_CHECK(done.error == (hasCode ? -code : 0));
      CheckExtack(message, done);
    }
  }
  return 0;
}
