// Test driver for native/nl_parse.cc, nl_requests.cc and nl_batch.cc, built by parse.test.ts with
// AddressSanitizer and UndefinedBehaviorSanitizer. Reads one command per line on stdin and
// prints one JSON object per command:
//
//   walk HEX                      messages of one datagram
//   error HEX | done HEX          ParseError / ParseDone of its first message
//   collect dump|plain HEX...     feeds datagrams to a ReplyCollector until it completes
//   batch BYTES MESSAGES HEX      BatchLayout of a request batch, cut into datagrams of at
//                                 most BYTES bytes and MESSAGES messages
//   seed HEX                      adds a datagram for `garbage` to mutate
//   garbage RUNS SEED             random and mutated input through all of the above
//   table RUNS SEED               random Allocate/Release against a model of RequestTable
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <iterator>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "nl_batch.h"
#include "nl_parse.h"
#include "nl_requests.h"

using namespace fstack_kni::netlink;

namespace {

std::vector<uint8_t> FromHex(const std::string& hex) {
  std::vector<uint8_t> bytes;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    bytes.push_back(static_cast<uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return bytes;
}

std::string ToHex(const std::vector<uint8_t>& bytes) {
  static const char digits[] = "0123456789abcdef";
  std::string hex;
  for (uint8_t byte : bytes) {
    hex += digits[byte >> 4];
    hex += digits[byte & 15];
  }
  return hex;
}

std::string Quote(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
      out += escaped;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

void Walk(const std::vector<uint8_t>& data) {
  MessageWalker walker(data.data(), data.size());
  MessageView message;
  std::cout << "{\"messages\":[";
  for (bool first = true; walker.Next(&message); first = false) {
    std::cout << (first ? "" : ",") << "{\"type\":" << message.header.type
              << ",\"flags\":" << message.header.flags << ",\"sequence\":" << message.header.sequence
              << ",\"portId\":" << message.header.portId << ",\"size\":" << message.size << "}";
  }
  std::cout << "],\"malformed\":" << (walker.malformed() ? "true" : "false") << "}\n";
}

void ParseFirst(const std::vector<uint8_t>& data, bool done) {
  MessageWalker walker(data.data(), data.size());
  MessageView message;
  if (!walker.Next(&message)) {
    std::cout << "{\"framed\":false}\n";
    return;
  }
  Acknowledgement ack;
  bool ok = done ? ParseDone(message, &ack) : ParseError(message, &ack);
  std::cout << "{\"framed\":true,\"ok\":" << (ok ? "true" : "false") << ",\"error\":" << ack.error
            << ",\"extackMessage\":" << Quote(ack.extackMessage)
            << ",\"extackOffset\":" << ack.extackOffset << "}\n";
}

// Returns the index of the datagram that completed the request, or -1.
int Collect(ReplyCollector& collector, const std::vector<std::vector<uint8_t>>& datagrams) {
  for (size_t i = 0; i < datagrams.size(); ++i) {
    MessageWalker walker(datagrams[i].data(), datagrams[i].size());
    MessageView message;
    while (walker.Next(&message)) {
      if (collector.Add(message)) {
        return static_cast<int>(i);
      }
    }
  }
  return -1;
}

void PrintCollect(bool dump, const std::vector<std::vector<uint8_t>>& datagrams) {
  ReplyCollector collector;
  collector.Reset(dump);
  int completedAt = Collect(collector, datagrams);
  std::cout << "{\"completedAt\":" << completedAt << ",\"error\":" << collector.error()
            << ",\"interrupted\":" << (collector.interrupted() ? "true" : "false")
            << ",\"extackMessage\":" << Quote(collector.extackMessage())
            << ",\"extackOffset\":" << collector.extackOffset()
            << ",\"payload\":\"" << ToHex(collector.payload()) << "\"}\n";
}

void Batch(size_t maxBytes, size_t maxMessages, const std::vector<uint8_t>& data) {
  BatchLayout layout;
  if (!layout.Parse(data.data(), data.size())) {
    std::cout << "{\"parsed\":false,\"malformedOffset\":" << layout.malformedOffset() << "}\n";
    return;
  }
  std::cout << "{\"parsed\":true,\"offsets\":[";
  for (size_t i = 0; i <= layout.count(); ++i) {
    std::cout << (i == 0 ? "" : ",") << layout.offset(i);
  }
  std::cout << "],\"datagramEnds\":[";
  for (size_t first = 0; first < layout.count();) {
    size_t end = layout.DatagramEnd(first, maxBytes, maxMessages);
    std::cout << (first == 0 ? "" : ",") << end;
    first = end;
  }
  std::cout << "]}\n";
}

// Every parser on random bytes and on seeds with random bytes changed, cut or appended.
void Garbage(int runs, unsigned seed, const std::vector<std::vector<uint8_t>>& seeds) {
  std::mt19937 random(seed);
  ReplyCollector collector;
  for (int run = 0; run < runs; ++run) {
    std::vector<uint8_t> data;
    if (seeds.empty() || random() % 3 == 0) {
      data.resize(random() % 200);
      for (uint8_t& byte : data) byte = static_cast<uint8_t>(random());
    } else {
      data = seeds[random() % seeds.size()];
      int edits = 1 + static_cast<int>(random() % 8);
      for (int e = 0; e < edits && !data.empty(); ++e) {
        switch (random() % 4) {
          case 0: data[random() % data.size()] = static_cast<uint8_t>(random()); break;
          case 1: data.resize(random() % (data.size() + 1)); break;
          case 2: data.push_back(static_cast<uint8_t>(random())); break;
          default: data.insert(data.end(), data.begin(), data.end()); break;
        }
      }
    }

    // Parse from a heap copy of exactly the input size, so reads past it are caught.
    std::vector<uint8_t> exact(data);
    exact.shrink_to_fit();
    MessageWalker walker(exact.data(), exact.size());
    MessageView message;
    while (walker.Next(&message)) {
      Acknowledgement ack;
      ParseError(message, &ack);
      ParseDone(message, &ack);
    }
    collector.Reset(random() % 2 == 0);
    Collect(collector, {exact});
  }
  std::cout << "{\"runs\":" << runs << "}\n";
}

// Random Allocate/Release checked against a std::map of the live sequence numbers.
void Table(int runs, unsigned seed) {
  std::mt19937 random(seed);
  RequestTable table;
  std::map<uint32_t, bool> live;
  bool ok = true;
  for (int run = 0; run < runs && ok; ++run) {
    if (live.empty() || random() % 3 != 0) {
      PendingRequest& request = table.Allocate();
      ok = ok && request.sequence != 0 && live.count(request.sequence) == 0;
      live[request.sequence] = true;
    } else {
      auto it = live.begin();
      std::advance(it, random() % live.size());
      PendingRequest* request = table.Find(it->first);
      ok = ok && request != nullptr && request->sequence == it->first;
      if (request != nullptr) table.Release(*request);
      live.erase(it);
    }
    ok = ok && table.size() == live.size();
  }
  std::vector<uint32_t> sequences = table.Sequences();
  ok = ok && sequences.size() == live.size();
  for (uint32_t sequence : sequences) ok = ok && live.count(sequence) == 1 && table.Find(sequence) != nullptr;
  std::cout << "{\"ok\":" << (ok ? "true" : "false") << ",\"live\":" << live.size() << "}\n";
}

}  // namespace

int main() {
  std::vector<std::vector<uint8_t>> seeds;
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream words(line);
    std::string command;
    words >> command;
    if (command == "walk" || command == "error" || command == "done") {
      std::string hex;
      words >> hex;
      std::vector<uint8_t> data = FromHex(hex);
      data.shrink_to_fit();
      if (command == "walk") {
        Walk(data);
      } else {
        ParseFirst(data, command == "done");
      }
    } else if (command == "collect") {
      std::string mode;
      std::string hex;
      words >> mode;
      std::vector<std::vector<uint8_t>> datagrams;
      while (words >> hex) datagrams.push_back(FromHex(hex));
      PrintCollect(mode == "dump", datagrams);
    } else if (command == "batch") {
      size_t maxBytes = 0;
      size_t maxMessages = 0;
      std::string hex;
      words >> maxBytes >> maxMessages >> hex;
      std::vector<uint8_t> data = FromHex(hex);
      data.shrink_to_fit();
      Batch(maxBytes, maxMessages, data);
    } else if (command == "seed") {
      std::string hex;
      words >> hex;
      seeds.push_back(FromHex(hex));
    } else if (command == "garbage" || command == "table") {
      int runs = 0;
      unsigned seed = 0;
      words >> runs >> seed;
      command == "garbage" ? Garbage(runs, seed, seeds) : Table(runs, seed);
    } else {
      std::cout << "{\"unknown\":" << Quote(command) << "}\n";
    }
  }
  return 0;
}
