// libFuzzer target: the table of pending requests (RequestTable) together with reply
// collection, driven the way RouteSocket drives them: requests are allocated and released
// in any order, and datagrams arrive whose messages name live, finished or unknown
// sequence numbers. A request is released when its reply completes.
//
// The input is a script read with FuzzedDataProvider. Datagram bytes come from the input
// too. Each message's sequence number is rewritten to a live request's, or left alone as
// a stray reply, so that replies actually reach requests.
//
// Invariants, checked against a std::map model after every step: sequence numbers are
// never 0 and never shared by two live requests. Find() returns exactly the live ones, a
// new slot starts empty, and size(), Sequences() and ForEach() agree with the model.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstring>
#include <iterator>
#include <map>
#include <vector>

#include "../nl_requests.h"
#include "fuzz_check.h"

using fstack_kni::netlink::MessageView;
using fstack_kni::netlink::MessageWalker;
using fstack_kni::netlink::PendingRequest;
using fstack_kni::netlink::RequestTable;

namespace {

constexpr size_t kMaxLive = 2048;
constexpr int kMaxSteps = 4096;
constexpr size_t kMaxDatagram = 8192;
constexpr size_t kSequenceOffset = 8;

uint32_t NthLive(const std::map<uint32_t, bool>& live, size_t n) {
  auto it = live.begin();
  std::advance(it, static_cast<long>(n));
  return it->first;
}

void Allocate(FuzzedDataProvider& input, RequestTable& table, std::map<uint32_t, bool>& live) {
  if (live.size() >= kMaxLive) {
    return;
  }
  PendingRequest& request = table.Allocate();
  FUZZ_CHECK(request.sequence != 0);
  FUZZ_CHECK(live.count(request.sequence) == 0);
  FUZZ_CHECK(!request.dump && !request.echo && !request.replyMayBeLost && request.attempts == 0);
  FUZZ_CHECK(request.dumpRequest.empty() && request.reply.payload().empty());
  FUZZ_CHECK(request.reply.error() == 0 && request.reply.extackOffset() == -1);

  request.dump = input.ConsumeBool();
  request.reply.Reset(request.dump);
  live[request.sequence] = request.dump;
  FUZZ_CHECK(table.Find(request.sequence) == &request);
}

void Release(FuzzedDataProvider& input, RequestTable& table, std::map<uint32_t, bool>& live) {
  if (live.empty()) {
    return;
  }
  uint32_t sequence = NthLive(live, input.ConsumeIntegralInRange<size_t>(0, live.size() - 1));
  PendingRequest* request = table.Find(sequence);
  FUZZ_CHECK(request != nullptr && request->sequence == sequence);
  table.Release(*request);
  live.erase(sequence);
  FUZZ_CHECK(table.Find(sequence) == nullptr);
}

// Delivers one datagram the way RouteSocket::Dispatch and HandleReply do.
void Deliver(FuzzedDataProvider& input, RequestTable& table, std::map<uint32_t, bool>& live) {
  std::vector<uint8_t> datagram =
      input.ConsumeBytes<uint8_t>(input.ConsumeIntegralInRange<size_t>(0, kMaxDatagram));

  std::vector<size_t> offsets;
  MessageWalker walker(datagram.data(), datagram.size());
  MessageView message;
  while (walker.Next(&message)) {
    offsets.push_back(static_cast<size_t>(message.bytes - datagram.data()));
  }
  for (size_t offset : offsets) {
    uint32_t sequence;
    std::memcpy(&sequence, datagram.data() + offset + kSequenceOffset, sizeof sequence);
    size_t pick = sequence % (live.size() + 1);
    if (pick < live.size()) {
      sequence = NthLive(live, pick);
      std::memcpy(datagram.data() + offset + kSequenceOffset, &sequence, sizeof sequence);
    }
  }

  MessageWalker dispatch(datagram.data(), datagram.size());
  while (dispatch.Next(&message)) {
    PendingRequest* request = table.Find(message.header.sequence);
    FUZZ_CHECK((request != nullptr) == (live.count(message.header.sequence) == 1));
    if (request != nullptr && request->reply.Add(message)) {
      live.erase(request->sequence);
      table.Release(*request);
    }
  }
}

void Probe(FuzzedDataProvider& input, RequestTable& table, const std::map<uint32_t, bool>& live) {
  uint32_t sequence = input.ConsumeIntegral<uint32_t>();
  PendingRequest* request = table.Find(sequence);
  if (live.count(sequence) == 1) {
    FUZZ_CHECK(request != nullptr && request->sequence == sequence);
    FUZZ_CHECK(request->dump == live.at(sequence));
  } else {
    FUZZ_CHECK(request == nullptr);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider input(data, size);
  RequestTable table;
  std::map<uint32_t, bool> live;

  for (int step = 0; step < kMaxSteps && input.remaining_bytes() > 0; ++step) {
    switch (input.ConsumeIntegralInRange<int>(0, 3)) {
      case 0:
        Allocate(input, table, live);
        break;
      case 1:
        Release(input, table, live);
        break;
      case 2:
        Deliver(input, table, live);
        break;
      default:
        Probe(input, table, live);
        break;
    }
    FUZZ_CHECK(table.size() == live.size());
  }

  std::vector<uint32_t> expected;
  for (const auto& entry : live) {
    expected.push_back(entry.first);
  }
  FUZZ_CHECK(table.Sequences() == expected);

  size_t visited = 0;
  table.ForEach([&](PendingRequest& request) {
    FUZZ_CHECK(live.count(request.sequence) == 1);
    ++visited;
    table.Release(request);
  });
  FUZZ_CHECK(visited == expected.size());
  FUZZ_CHECK(table.size() == 0);
  return 0;
}
