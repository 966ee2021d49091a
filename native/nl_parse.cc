#include "nl_parse.h"

#include <linux/netlink.h>
#include <sys/socket.h>

#include <climits>
#include <cstring>

namespace fstack_kni::netlink {

namespace {

constexpr size_t kErrorCodeSize = 4;
constexpr size_t kAttributeHeaderSize = 4;
constexpr uint16_t kAttributeTypeMask = static_cast<uint16_t>(NLA_TYPE_MASK);

uint16_t ReadU16(const uint8_t* data) {
  uint16_t value;
  std::memcpy(&value, data, sizeof value);
  return value;
}

uint32_t ReadU32(const uint8_t* data) {
  uint32_t value;
  std::memcpy(&value, data, sizeof value);
  return value;
}

// Converts the kernel's `int error` (0 or a negative errno) to a positive errno. Returns
// false for values the kernel never sends.
bool ErrorCodeToErrno(const uint8_t* data, int* error) {
  int32_t value;
  std::memcpy(&value, data, sizeof value);
  if (value > 0 || value == INT32_MIN) {
    return false;
  }
  *error = -value;
  return true;
}

// Reads the extended-ack attributes from `start` to the end of the message.
void ParseExtack(const MessageView& message, size_t start, Acknowledgement* ack) {
  size_t offset = start;
  while (offset + kAttributeHeaderSize <= message.size) {
    const uint8_t* attribute = message.bytes + offset;
    uint16_t length = ReadU16(attribute);
    uint16_t type = ReadU16(attribute + 2) & kAttributeTypeMask;
    if (length < kAttributeHeaderSize || length > message.size - offset) {
      return;
    }

    const uint8_t* value = attribute + kAttributeHeaderSize;
    size_t valueSize = length - kAttributeHeaderSize;
    if (type == NLMSGERR_ATTR_MSG) {
      const char* text = reinterpret_cast<const char*>(value);
      ack->extackMessage = std::string_view(text, strnlen(text, valueSize));
    } else if (type == NLMSGERR_ATTR_OFFS && valueSize >= sizeof(uint32_t)) {
      ack->extackOffset = ReadU32(value);
    }

    offset += Align(length);
  }
}

}  // namespace

bool ReadHeader(const uint8_t* data, size_t size, MessageHeader* header) {
  if (size < kHeaderSize) {
    return false;
  }
  header->length = ReadU32(data);
  header->type = ReadU16(data + 4);
  header->flags = ReadU16(data + 6);
  header->sequence = ReadU32(data + 8);
  header->portId = ReadU32(data + 12);
  return true;
}

bool MessageWalker::Next(MessageView* message) {
  if (malformed_ || offset_ >= size_) {
    return false;
  }

  size_t remaining = size_ - offset_;
  MessageHeader header;
  if (!ReadHeader(data_ + offset_, remaining, &header) || header.length < kHeaderSize ||
      header.length > remaining) {
    malformed_ = true;
    return false;
  }

  message->header = header;
  message->bytes = data_ + offset_;
  message->size = header.length;

  // The last message of a datagram may omit its padding.
  size_t step = Align(header.length);
  offset_ = step > remaining ? size_ : offset_ + step;
  return true;
}

bool ParseError(const MessageView& message, Acknowledgement* ack) {
  *ack = Acknowledgement{};
  if (message.size < kHeaderSize + kErrorCodeSize ||
      !ErrorCodeToErrno(message.bytes + kHeaderSize, &ack->error)) {
    return false;
  }
  if ((message.header.flags & NLM_F_ACK_TLVS) == 0) {
    return true;
  }

  // The attributes follow the echoed request: its header alone when capped, else all of it.
  MessageHeader request;
  size_t requestOffset = kHeaderSize + kErrorCodeSize;
  if (!ReadHeader(message.bytes + requestOffset, message.size - requestOffset, &request)) {
    return true;
  }
  size_t echoedSize = kHeaderSize;
  if ((message.header.flags & NLM_F_CAPPED) == 0) {
    if (request.length < kHeaderSize) {
      return true;
    }
    echoedSize = request.length;
  }

  size_t attributesOffset = kHeaderSize + Align(kErrorCodeSize + echoedSize);
  if (attributesOffset < message.size) {
    ParseExtack(message, attributesOffset, ack);
  }
  return true;
}

bool ParseDone(const MessageView& message, Acknowledgement* ack) {
  *ack = Acknowledgement{};
  if (message.size < kHeaderSize + kErrorCodeSize) {
    return true;
  }
  if (!ErrorCodeToErrno(message.bytes + kHeaderSize, &ack->error)) {
    return false;
  }
  if ((message.header.flags & NLM_F_ACK_TLVS) != 0) {
    ParseExtack(message, kHeaderSize + Align(kErrorCodeSize), ack);
  }
  return true;
}

void ReplyCollector::Reset(bool dump) {
  dump_ = dump;
  interrupted_ = false;
  error_ = 0;
  extackMessage_.clear();
  extackOffset_ = -1;
  payload_.clear();
}

bool ReplyCollector::Add(const MessageView& message) {
  const MessageHeader& header = message.header;
  if (header.flags & NLM_F_DUMP_INTR) {
    interrupted_ = true;
  }

  Acknowledgement ack;
  switch (header.type) {
    case NLMSG_NOOP:
    case NLMSG_OVERRUN:
      return false;

    case NLMSG_ERROR:
      if (!ParseError(message, &ack)) {
        ack.error = kMalformedReplyError;
      }
      Finish(ack);
      return true;

    case NLMSG_DONE:
      if (!dump_) {
        return false;
      }
      if (!ParseDone(message, &ack)) {
        ack.error = kMalformedReplyError;
      }
      Finish(ack);
      return true;

    default:
      payload_.insert(payload_.end(), message.bytes, message.bytes + message.size);
      payload_.resize(Align(payload_.size()), 0);
      return false;
  }
}

void ReplyCollector::Finish(const Acknowledgement& ack) {
  error_ = ack.error;
  extackMessage_.assign(ack.extackMessage.data(), ack.extackMessage.size());
  extackOffset_ = ack.extackOffset;
}

bool IsPlainAck(const uint8_t* data, size_t size, uint32_t sequence, uint32_t portId) {
  MessageHeader header;
  if (size != kPlainAckSize || !ReadHeader(data, size, &header)) {
    return false;
  }
  int32_t error = -1;
  std::memcpy(&error, data + kHeaderSize, sizeof error);
  return error == 0 && header.type == NLMSG_ERROR && header.length == kPlainAckSize &&
         header.sequence == sequence && header.portId == portId &&
         (header.flags & NLM_F_ACK_TLVS) == 0;
}

uint32_t PacketInfoGroup(const uint8_t* control, size_t length) {
  uint32_t group = 0;
  size_t offset = 0;
  while (length - offset >= sizeof(cmsghdr)) {
    cmsghdr header;
    std::memcpy(&header, control + offset, sizeof header);
    if (header.cmsg_len < sizeof(cmsghdr) || header.cmsg_len > length - offset) {
      break;
    }
    if (header.cmsg_level == SOL_NETLINK && header.cmsg_type == NETLINK_PKTINFO &&
        header.cmsg_len >= CMSG_LEN(sizeof(nl_pktinfo))) {
      nl_pktinfo info;
      std::memcpy(&info, control + offset + CMSG_LEN(0), sizeof info);
      group = info.group;
    }
    size_t step = CMSG_ALIGN(header.cmsg_len);
    if (step > length - offset) {
      break;
    }
    offset += step;
  }
  return group;
}

}  // namespace fstack_kni::netlink
