// libFuzzer target: collecting the reply of one request (ReplyCollector), as a plain
// request and as a dump, from the messages of the input in order. RouteSocket feeds it
// the same way, one message at a time until Add() reports the request complete.
//
// Invariants: the request completes at the first NLMSG_ERROR, or at the first NLMSG_DONE
// of a dump, never earlier. The payload is exactly the data messages before it, each
// padded to 4 bytes, and walks back into the same messages. NLMSG_NOOP, NLMSG_OVERRUN and
// a plain request's NLMSG_DONE stay out of it. The errno and extended ack are those of
// the final message (EPROTO for one too short for an error code). Reset() clears all state.
#include <linux/netlink.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "../nl_parse.h"
#include "fuzz_check.h"

using fstack_kni::netlink::Acknowledgement;
using fstack_kni::netlink::Align;
using fstack_kni::netlink::kMalformedReplyError;
using fstack_kni::netlink::MessageView;
using fstack_kni::netlink::MessageWalker;
using fstack_kni::netlink::ParseDone;
using fstack_kni::netlink::ParseError;
using fstack_kni::netlink::ReplyCollector;

namespace {

void CheckCollect(const uint8_t* data, size_t size, bool dump, ReplyCollector& collector) {
  collector.Reset(dump);
  FUZZ_CHECK(collector.dump() == dump);

  std::vector<uint8_t> expectedPayload;
  size_t dataMessages = 0;
  bool interrupted = false;
  bool complete = false;
  Acknowledgement finalAck;

  MessageWalker walker(data, size);
  MessageView message;
  while (!complete && walker.Next(&message)) {
    interrupted = interrupted || (message.header.flags & NLM_F_DUMP_INTR) != 0;
    bool expectComplete = false;
    switch (message.header.type) {
      case NLMSG_NOOP:
      case NLMSG_OVERRUN:
        break;
      case NLMSG_ERROR:
        expectComplete = true;
        if (!ParseError(message, &finalAck)) {
          finalAck = Acknowledgement{};
          finalAck.error = kMalformedReplyError;
        }
        break;
      case NLMSG_DONE:
        if (dump) {
          expectComplete = true;
          if (!ParseDone(message, &finalAck)) {
            finalAck = Acknowledgement{};
            finalAck.error = kMalformedReplyError;
          }
        }
        break;
      default:
        ++dataMessages;
        expectedPayload.insert(expectedPayload.end(), message.bytes, message.bytes + message.size);
        expectedPayload.resize(Align(expectedPayload.size()), 0);
        break;
    }

    complete = collector.Add(message);
    FUZZ_CHECK(complete == expectComplete);
    FUZZ_CHECK(collector.interrupted() == interrupted);
  }

  std::vector<uint8_t>& payload = collector.payload();
  FUZZ_CHECK(payload.size() % 4 == 0);
  FUZZ_CHECK(payload == expectedPayload);

  MessageWalker payloadWalker(payload.data(), payload.size());
  size_t walked = 0;
  while (payloadWalker.Next(&message)) {
    FUZZ_CHECK(message.header.type != NLMSG_NOOP && message.header.type != NLMSG_ERROR &&
               message.header.type != NLMSG_DONE && message.header.type != NLMSG_OVERRUN);
    ++walked;
  }
  FUZZ_CHECK(!payloadWalker.malformed());
  FUZZ_CHECK(walked == dataMessages);

  if (complete) {
    FUZZ_CHECK(collector.error() == finalAck.error);
    FUZZ_CHECK(collector.error() >= 0);
    FUZZ_CHECK(collector.extackMessage() ==
               std::string(finalAck.extackMessage.data(), finalAck.extackMessage.size()));
    FUZZ_CHECK(collector.extackOffset() == finalAck.extackOffset);
  } else {
    FUZZ_CHECK(collector.error() == 0);
    FUZZ_CHECK(collector.extackMessage().empty());
    FUZZ_CHECK(collector.extackOffset() == -1);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // One collector for both modes, so a Reset() that leaves state behind shows up.
  ReplyCollector collector;
  CheckCollect(data, size, false, collector);
  CheckCollect(data, size, true, collector);

  collector.Reset(false);
  FUZZ_CHECK(!collector.interrupted() && collector.error() == 0 &&
             collector.extackMessage().empty() && collector.extackOffset() == -1 &&
             collector.payload().empty());
  return 0;
}
