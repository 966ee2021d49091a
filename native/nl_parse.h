// Netlink message framing, acknowledgement parsing and reply collection.
//
// Pure C++ with no Node-API dependency, so a fuzzer or a test program can link nl_parse.cc
// alone. Every read goes through memcpy on bounds-checked offsets: input may be unaligned,
// truncated or garbage, and nothing here trusts a length field before checking it.
//
// Layout of one message (all integers in host byte order):
//
//   0        4      6       8          12         16
//   +--------+------+-------+----------+----------+---------------------------+
//   | length | type | flags | sequence | port id  | payload ... (padded to 4) |
//   +--------+------+-------+----------+----------+---------------------------+
//
// An NLMSG_ERROR payload is `int error` followed by the request's header (and its payload
// unless the ack is NLM_F_CAPPED), then, with NLM_F_ACK_TLVS, extended-ack attributes.
// An NLMSG_DONE payload is `int error`, then extended-ack attributes with NLM_F_ACK_TLVS.
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace fstack_kni::netlink {

constexpr size_t kHeaderSize = 16;

constexpr size_t Align(size_t length) { return (length + 3) & ~size_t{3}; }

/** Fields of struct nlmsghdr. */
struct MessageHeader {
  uint32_t length = 0;
  uint16_t type = 0;
  uint16_t flags = 0;
  uint32_t sequence = 0;
  uint32_t portId = 0;
};

/** One message inside a datagram: its header and its bytes, header included. */
struct MessageView {
  MessageHeader header;
  const uint8_t* bytes = nullptr;
  size_t size = 0;
};

/** Reads a header at `data`; returns false when fewer than kHeaderSize bytes are given. */
bool ReadHeader(const uint8_t* data, size_t size, MessageHeader* header);

/** Walks the messages of one datagram in order. */
class MessageWalker {
 public:
  MessageWalker(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  // Stores the next message in `message` and returns true. Returns false at the end of the
  // datagram and at the first header whose length is below kHeaderSize or runs past the
  // end. malformed() distinguishes the two.
  bool Next(MessageView* message);

  bool malformed() const { return malformed_; }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t offset_ = 0;
  bool malformed_ = false;
};

/** Outcome carried by an NLMSG_ERROR or NLMSG_DONE message. */
struct Acknowledgement {
  /** Positive errno, 0 for success. */
  int error = 0;
  /** NLMSGERR_ATTR_MSG without its terminating NUL; points into the parsed message. */
  std::string_view extackMessage;
  /** NLMSGERR_ATTR_OFFS: bytes from the start of the request message, -1 when absent. */
  int64_t extackOffset = -1;
};

// Parses an NLMSG_ERROR message. Returns false when the payload is too short to hold the
// error code; extended-ack attributes that do not fit are ignored, not an error.
bool ParseError(const MessageView& message, Acknowledgement* ack);

// Parses an NLMSG_DONE message. A DONE without payload (old kernels) means success.
bool ParseDone(const MessageView& message, Acknowledgement* ack);

/** Size of an ack without extended-ack attributes: header, error code, request header. */
constexpr size_t kPlainAckSize = kHeaderSize + 4 + kHeaderSize;

// Whether a datagram is exactly the plain ack (NLMSG_ERROR with error 0, the request's
// header only, no extended ack) of request `sequence` sent from port `portId`.
bool IsPlainAck(const uint8_t* data, size_t size, uint32_t sequence, uint32_t portId);

// Returns the group of the NETLINK_PKTINFO control message in a recvmsg control buffer of
// `length` bytes, or 0 when there is none. Control messages that overrun the buffer end
// the walk.
uint32_t PacketInfoGroup(const uint8_t* control, size_t length);

/** Errno reported for a reply the kernel could not have sent (payload too short). */
constexpr int kMalformedReplyError = EPROTO;

/**
 * Collects the reply of one request from the messages addressed to it.
 *
 * A plain request completes at its NLMSG_ERROR (an ack when the error is 0). Data messages
 * before it (a GET's reply, an NLM_F_ECHO copy) form the payload. A dump completes at
 * NLMSG_DONE or at an NLMSG_ERROR that ends it early. An NLMSG_DONE seen by a plain
 * request is kept out of the payload because the ack still follows.
 */
class ReplyCollector {
 public:
  /** Starts over for a new request or a new attempt of a dump. */
  void Reset(bool dump);

  // Adds one message addressed to the request. Returns true when the request is complete.
  bool Add(const MessageView& message);

  bool dump() const { return dump_; }
  /** True when any message of the attempt carried NLM_F_DUMP_INTR. */
  bool interrupted() const { return interrupted_; }
  /** Positive errno of the final NLMSG_ERROR or NLMSG_DONE, 0 on success. */
  int error() const { return error_; }
  const std::string& extackMessage() const { return extackMessage_; }
  int64_t extackOffset() const { return extackOffset_; }
  /** Data messages back to back, headers included. */
  std::vector<uint8_t>& payload() { return payload_; }

 private:
  void Finish(const Acknowledgement& ack);

  bool dump_ = false;
  bool interrupted_ = false;
  int error_ = 0;
  std::string extackMessage_;
  int64_t extackOffset_ = -1;
  std::vector<uint8_t> payload_;
};

}  // namespace fstack_kni::netlink
