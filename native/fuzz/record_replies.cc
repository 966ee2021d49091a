// Records real kernel replies as seeds for the fuzz targets: one file per datagram, raw
// bytes as recvmsg returned them.
//
//   record_replies OUTDIR
//
// Run it inside a throwaway network namespace (`ip netns exec NS record_replies DIR`):
// it creates and deletes a veth pair there to provoke notifications. test/fuzz/
// record-corpus.test.ts prepares such a namespace with links, addresses, a route and a
// neighbour, runs this program and checks what it wrote. The socket options match the
// addon's (extended ack and strict checking on, capped acks unless a scenario needs the
// echoed request in full).
#include <arpa/inet.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

namespace {

constexpr size_t kReceiveBufferSize = 256 * 1024;

// One request message under construction.
class Request {
 public:
  Request(uint16_t type, uint16_t flags) {
    nlmsghdr header{};
    header.nlmsg_type = type;
    header.nlmsg_flags = static_cast<uint16_t>(flags | NLM_F_REQUEST);
    Append(&header, sizeof header);
  }

  void Append(const void* data, size_t size) {
    const auto* bytes = static_cast<const uint8_t*>(data);
    bytes_.insert(bytes_.end(), bytes, bytes + size);
    bytes_.resize(NLMSG_ALIGN(bytes_.size()), 0);
  }

  void Attribute(uint16_t type, const void* data, size_t size) {
    nlattr attribute{};
    attribute.nla_len = static_cast<uint16_t>(NLA_HDRLEN + size);
    attribute.nla_type = type;
    size_t start = bytes_.size();
    bytes_.resize(start + NLA_ALIGN(NLA_HDRLEN + size), 0);
    std::memcpy(bytes_.data() + start, &attribute, sizeof attribute);
    if (size > 0) {
      std::memcpy(bytes_.data() + start + NLA_HDRLEN, data, size);
    }
  }

  void String(uint16_t type, const std::string& text) {
    Attribute(type, text.c_str(), text.size() + 1);
  }

  void U32(uint16_t type, uint32_t value) { Attribute(type, &value, sizeof value); }

  size_t BeginNested(uint16_t type) {
    size_t start = bytes_.size();
    Attribute(static_cast<uint16_t>(type | NLA_F_NESTED), nullptr, 0);
    return start;
  }

  size_t bytes() const { return bytes_.size(); }

  void EndNested(size_t start) {
    auto length = static_cast<uint16_t>(bytes_.size() - start);
    std::memcpy(bytes_.data() + start, &length, sizeof length);
  }

  // Fills in length and sequence number and returns the bytes to send.
  const std::vector<uint8_t>& Finish(uint32_t sequence) {
    auto* header = reinterpret_cast<nlmsghdr*>(bytes_.data());
    header->nlmsg_len = static_cast<uint32_t>(bytes_.size());
    header->nlmsg_seq = sequence;
    return bytes_;
  }

 private:
  std::vector<uint8_t> bytes_;
};

class Recorder {
 public:
  explicit Recorder(std::string directory) : directory_(std::move(directory)) {}

  bool Open() {
    fd_ = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd_ < 0) {
      std::perror("socket");
      return false;
    }
    int on = 1;
    if (setsockopt(fd_, SOL_NETLINK, NETLINK_EXT_ACK, &on, sizeof on) < 0 ||
        setsockopt(fd_, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &on, sizeof on) < 0) {
      std::perror("setsockopt");
      return false;
    }
    return SetCappedAcks(true);
  }

  bool SetCappedAcks(bool capped) {
    int value = capped ? 1 : 0;
    if (setsockopt(fd_, SOL_NETLINK, NETLINK_CAP_ACK, &value, sizeof value) < 0) {
      std::perror("setsockopt NETLINK_CAP_ACK");
      return false;
    }
    return true;
  }

  // Sends the request and records every datagram up to its final NLMSG_ERROR or NLMSG_DONE.
  bool Exchange(const std::string& name, Request& request) {
    uint32_t sequence = ++sequence_;
    const std::vector<uint8_t>& bytes = request.Finish(sequence);
    if (send(fd_, bytes.data(), bytes.size(), 0) < 0) {
      std::perror(("send " + name).c_str());
      return false;
    }

    for (int part = 0;; ++part) {
      ssize_t size = ReceiveInto(fd_, 0);
      if (size < 0) {
        std::perror(("recv " + name).c_str());
        return false;
      }
      if (!Save(name, part, static_cast<size_t>(size))) {
        return false;
      }
      if (EndsRequest(static_cast<size_t>(size), sequence)) {
        return true;
      }
    }
  }

  // Records the notifications queued on an event socket until it is empty.
  bool DrainEvents(int eventFd, const std::string& name) {
    for (int part = 0;; ++part) {
      ssize_t size = ReceiveInto(eventFd, MSG_DONTWAIT);
      if (size < 0) {
        if (errno == EAGAIN) {
          return part > 0;
        }
        std::perror("recv events");
        return false;
      }
      if (!Save(name, part, static_cast<size_t>(size))) {
        return false;
      }
    }
  }

 private:
  ssize_t ReceiveInto(int fd, int flags) {
    buffer_.resize(kReceiveBufferSize);
    iovec part{buffer_.data(), buffer_.size()};
    msghdr message{};
    message.msg_iov = &part;
    message.msg_iovlen = 1;
    ssize_t size = recvmsg(fd, &message, flags);
    if (size >= 0 && (message.msg_flags & MSG_TRUNC) != 0) {
      errno = EMSGSIZE;
      return -1;
    }
    return size;
  }

  bool EndsRequest(size_t size, uint32_t sequence) {
    size_t offset = 0;
    while (offset + NLMSG_HDRLEN <= size) {
      nlmsghdr header;
      std::memcpy(&header, buffer_.data() + offset, sizeof header);
      if (header.nlmsg_len < NLMSG_HDRLEN || header.nlmsg_len > size - offset) {
        return true;
      }
      if (header.nlmsg_seq == sequence &&
          (header.nlmsg_type == NLMSG_ERROR || header.nlmsg_type == NLMSG_DONE)) {
        return true;
      }
      offset += NLMSG_ALIGN(header.nlmsg_len);
    }
    return false;
  }

  bool Save(const std::string& name, int part, size_t size) {
    char file[64];
    std::snprintf(file, sizeof file, "%s-%02d.bin", name.c_str(), part);
    std::string path = directory_ + "/" + file;
    FILE* out = std::fopen(path.c_str(), "wb");
    if (out == nullptr || std::fwrite(buffer_.data(), 1, size, out) != size ||
        std::fclose(out) != 0) {
      std::perror(path.c_str());
      return false;
    }
    return true;
  }

  std::string directory_;
  int fd_ = -1;
  uint32_t sequence_ = 0;
  std::vector<uint8_t> buffer_;
};

Request LinkDump(bool skipStats) {
  Request request(RTM_GETLINK, NLM_F_DUMP);
  ifinfomsg info{};
  request.Append(&info, sizeof info);
  if (skipStats) {
    request.U32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  }
  return request;
}

Request AddressDump() {
  Request request(RTM_GETADDR, NLM_F_DUMP);
  ifaddrmsg info{};
  request.Append(&info, sizeof info);
  return request;
}

Request RouteDump() {
  Request request(RTM_GETROUTE, NLM_F_DUMP);
  rtmsg info{};
  request.Append(&info, sizeof info);
  return request;
}

Request NeighbourDump() {
  Request request(RTM_GETNEIGH, NLM_F_DUMP);
  ndmsg info{};
  request.Append(&info, sizeof info);
  return request;
}

Request LinkByName(uint16_t type, uint16_t flags, const std::string& name) {
  Request request(type, static_cast<uint16_t>(flags | NLM_F_ACK));
  ifinfomsg info{};
  request.Append(&info, sizeof info);
  request.String(IFLA_IFNAME, name);
  return request;
}

Request LinkSetUp(const std::string& name) {
  Request request(RTM_NEWLINK, NLM_F_ACK);
  ifinfomsg info{};
  info.ifi_flags = IFF_UP;
  info.ifi_change = IFF_UP;
  request.Append(&info, sizeof info);
  request.String(IFLA_IFNAME, name);
  return request;
}

// Builds the creation of a veth pair. IFLA_LINKINFO nests IFLA_INFO_DATA, which nests
// VETH_INFO_PEER, whose payload is a struct ifinfomsg followed by attributes.
Request VethCreate(const std::string& name, const std::string& peer) {
  Request request(RTM_NEWLINK, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
  ifinfomsg info{};
  request.Append(&info, sizeof info);
  request.String(IFLA_IFNAME, name);
  size_t linkInfo = request.BeginNested(IFLA_LINKINFO);
  request.String(IFLA_INFO_KIND, "veth");
  size_t data = request.BeginNested(IFLA_INFO_DATA);
  size_t peerInfo = request.bytes();
  request.Attribute(VETH_INFO_PEER, nullptr, 0);
  request.Append(&info, sizeof info);
  request.String(IFLA_IFNAME, peer);
  request.EndNested(peerInfo);
  request.EndNested(data);
  request.EndNested(linkInfo);
  return request;
}

// Builds a link request whose IFLA_IFNAME is longer than IFNAMSIZ. The policy check
// rejects it with an extended-ack message and the offset of the attribute.
Request LinkNameTooLong() {
  return LinkByName(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, "name-longer-than-ifnamsiz");
}

// Builds a link dump with a header field that strict checking forbids in a dump request.
Request StrictLinkDump() {
  Request request(RTM_GETLINK, NLM_F_DUMP);
  ifinfomsg info{};
  info.ifi_change = 1;
  request.Append(&info, sizeof info);
  return request;
}

Request Address(uint16_t type, uint16_t flags, int family, const char* text, uint8_t prefixLength,
                uint32_t index) {
  Request request(type, static_cast<uint16_t>(flags | NLM_F_ACK));
  ifaddrmsg info{};
  info.ifa_family = static_cast<uint8_t>(family);
  info.ifa_prefixlen = prefixLength;
  info.ifa_index = index;
  request.Append(&info, sizeof info);
  uint8_t bytes[16];
  inet_pton(family, text, bytes);
  size_t size = family == AF_INET ? 4 : 16;
  request.Attribute(IFA_LOCAL, bytes, size);
  request.Attribute(IFA_ADDRESS, bytes, size);
  if (family == AF_INET6) {
    request.U32(IFA_FLAGS, IFA_F_NODAD);
  }
  return request;
}

Request RouteVia(const char* destination, uint8_t prefixLength, const char* gateway,
                 uint32_t index) {
  Request request(RTM_NEWROUTE, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
  rtmsg info{};
  info.rtm_family = AF_INET;
  info.rtm_dst_len = prefixLength;
  info.rtm_table = RT_TABLE_MAIN;
  info.rtm_protocol = RTPROT_BOOT;
  info.rtm_scope = RT_SCOPE_UNIVERSE;
  info.rtm_type = RTN_UNICAST;
  request.Append(&info, sizeof info);
  uint8_t bytes[4];
  inet_pton(AF_INET, destination, bytes);
  request.Attribute(RTA_DST, bytes, sizeof bytes);
  inet_pton(AF_INET, gateway, bytes);
  request.Attribute(RTA_GATEWAY, bytes, sizeof bytes);
  request.U32(RTA_OIF, index);
  return request;
}

int JoinEventGroups() {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) {
    std::perror("socket");
    return -1;
  }
  sockaddr_nl address{};
  address.nl_family = AF_NETLINK;
  address.nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR | RTMGRP_IPV4_ROUTE |
                      RTMGRP_IPV6_ROUTE | RTMGRP_NEIGH;
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) < 0) {
    std::perror("bind");
    close(fd);
    return -1;
  }
  return fd;
}

bool RecordEvents(Recorder& recorder) {
  int events = JoinEventGroups();
  if (events < 0) {
    return false;
  }
  const std::string name = "fz-events";
  Request create = VethCreate(name, "fz-events-peer");
  Request up = LinkSetUp(name);
  bool ok =
      recorder.Exchange("event-link-create", create) && recorder.Exchange("event-link-up", up);
  uint32_t index = ok ? if_nametoindex(name.c_str()) : 0;
  if (index == 0) {
    std::fprintf(stderr, "the veth link %s was not created\n", name.c_str());
    close(events);
    return false;
  }

  Request address4 =
      Address(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, AF_INET, "198.51.100.7", 24, index);
  Request address6 =
      Address(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, AF_INET6, "2001:db8:7::7", 64, index);
  Request route = RouteVia("203.0.113.0", 24, "198.51.100.1", index);
  Request remove = LinkByName(RTM_DELLINK, 0, name);
  ok = recorder.Exchange("event-address4", address4) &&
       recorder.Exchange("event-address6", address6) && recorder.Exchange("event-route", route) &&
       recorder.Exchange("event-link-delete", remove) && recorder.DrainEvents(events, "events");
  close(events);
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
    return 2;
  }

  Recorder recorder(argv[1]);
  if (!recorder.Open()) {
    return 1;
  }

  Request linkDump = LinkDump(true);
  Request linkDumpWithStats = LinkDump(false);
  Request addressDump = AddressDump();
  Request routeDump = RouteDump();
  Request neighbourDump = NeighbourDump();
  Request linkGet = LinkByName(RTM_GETLINK, 0, "fz0");
  Request linkSetUp = LinkSetUp("fz0");
  Request noSuchLink = LinkByName(RTM_DELLINK, 0, "fz-missing");
  Request nameTooLongCapped = LinkNameTooLong();
  Request nameTooLong = LinkNameTooLong();
  Request strictDump = StrictLinkDump();
  Request addressExists = Address(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, AF_INET, "192.0.2.1", 24,
                                  if_nametoindex("fz0"));

  bool ok = recorder.Exchange("dump-links", linkDump) &&
            recorder.Exchange("dump-links-stats", linkDumpWithStats) &&
            recorder.Exchange("dump-addresses", addressDump) &&
            recorder.Exchange("dump-routes", routeDump) &&
            recorder.Exchange("dump-neighbours", neighbourDump) &&
            recorder.Exchange("get-link", linkGet) && recorder.Exchange("ack-link-up", linkSetUp) &&
            recorder.Exchange("error-enodev", noSuchLink) &&
            recorder.Exchange("error-eexist", addressExists) &&
            recorder.Exchange("error-policy-capped", nameTooLongCapped) &&
            recorder.Exchange("error-strict-dump", strictDump) && recorder.SetCappedAcks(false) &&
            recorder.Exchange("error-policy-full", nameTooLong) && recorder.SetCappedAcks(true) &&
            RecordEvents(recorder);
  return ok ? 0 : 1;
}
