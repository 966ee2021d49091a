// The benchmark floor: the same rtnetlink requests the library sends, from plain C with a
// blocking socket and nothing in between. Prints one JSON object per case on stdout.
//
// Usage: floor NETNS_PATH IFINDEX COUNT
// The interface must exist in the namespace and be up. The program adds and deletes
// addresses in 192.0.2.0/24 on it and replaces a route to 198.51.100.0/24 through it.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define MESSAGE_SIZE 128

static int sock;
static uint32_t seq;
static char receive_buffer[1 << 16];

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void die(const char *context) {
  fprintf(stderr, "floor: %s: %s\n", context, strerror(errno));
  exit(1);
}

static void put_attribute(struct nlmsghdr *header, uint16_t type, const void *data,
                          uint16_t length) {
  struct rtattr *attribute = (struct rtattr *)((char *)header + NLMSG_ALIGN(header->nlmsg_len));
  attribute->rta_type = type;
  attribute->rta_len = RTA_LENGTH(length);
  memcpy(RTA_DATA(attribute), data, length);
  header->nlmsg_len = NLMSG_ALIGN(header->nlmsg_len) + RTA_ALIGN(attribute->rta_len);
}

// Writes RTM_NEWADDR or RTM_DELADDR for 192.0.2.HOST/24 on the interface into `buffer`.
static struct nlmsghdr *address_message(char *buffer, uint16_t type, int ifindex, int host) {
  memset(buffer, 0, MESSAGE_SIZE);
  struct nlmsghdr *header = (struct nlmsghdr *)buffer;
  header->nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg));
  header->nlmsg_type = type;
  header->nlmsg_flags =
      NLM_F_REQUEST | NLM_F_ACK | (type == RTM_NEWADDR ? NLM_F_CREATE | NLM_F_EXCL : 0);
  header->nlmsg_seq = ++seq;

  struct ifaddrmsg *message = NLMSG_DATA(header);
  message->ifa_family = AF_INET;
  message->ifa_prefixlen = 24;
  message->ifa_index = ifindex;

  uint8_t address[4] = {192, 0, 2, (uint8_t)host};
  put_attribute(header, IFA_LOCAL, address, 4);
  put_attribute(header, IFA_ADDRESS, address, 4);
  return header;
}

static struct nlmsghdr *route_message(char *buffer, int ifindex, uint32_t metric) {
  memset(buffer, 0, MESSAGE_SIZE);
  struct nlmsghdr *header = (struct nlmsghdr *)buffer;
  header->nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
  header->nlmsg_type = RTM_NEWROUTE;
  header->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE;
  header->nlmsg_seq = ++seq;

  struct rtmsg *message = NLMSG_DATA(header);
  message->rtm_family = AF_INET;
  message->rtm_dst_len = 24;
  message->rtm_table = RT_TABLE_MAIN;
  message->rtm_protocol = RTPROT_BOOT;
  message->rtm_scope = RT_SCOPE_LINK;
  message->rtm_type = RTN_UNICAST;

  uint8_t destination[4] = {198, 51, 100, 0};
  put_attribute(header, RTA_DST, destination, 4);
  put_attribute(header, RTA_OIF, &ifindex, 4);
  put_attribute(header, RTA_PRIORITY, &metric, 4);
  return header;
}

static struct nlmsghdr *link_message(char *buffer, int ifindex, int up) {
  memset(buffer, 0, MESSAGE_SIZE);
  struct nlmsghdr *header = (struct nlmsghdr *)buffer;
  header->nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
  header->nlmsg_type = RTM_NEWLINK;
  header->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  header->nlmsg_seq = ++seq;

  struct ifinfomsg *message = NLMSG_DATA(header);
  message->ifi_family = AF_UNSPEC;
  message->ifi_index = ifindex;
  message->ifi_change = IFF_UP;
  message->ifi_flags = up ? IFF_UP : 0;
  return header;
}

// Reads acks until `expected` have arrived, and exits on the first error ack.
static void read_acks(int expected) {
  while (expected > 0) {
    ssize_t length = recv(sock, receive_buffer, sizeof receive_buffer, 0);
    if (length < 0) die("recv");
    for (struct nlmsghdr *header = (struct nlmsghdr *)receive_buffer;
         NLMSG_OK(header, (size_t)length); header = NLMSG_NEXT(header, length)) {
      if (header->nlmsg_type != NLMSG_ERROR) continue;
      struct nlmsgerr *error = NLMSG_DATA(header);
      if (error->error != 0) {
        errno = -error->error;
        die("request");
      }
      expected--;
    }
  }
}

static void send_one(struct nlmsghdr *header) {
  if (send(sock, header, header->nlmsg_len, 0) < 0) die("send");
  read_acks(1);
}

static void send_many(char (*buffers)[MESSAGE_SIZE], int count) {
  struct iovec parts[BATCH];
  for (int i = 0; i < count; i++) {
    parts[i].iov_base = buffers[i];
    parts[i].iov_len = ((struct nlmsghdr *)buffers[i])->nlmsg_len;
  }
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  struct msghdr message = {
      .msg_name = &kernel, .msg_namelen = sizeof kernel, .msg_iov = parts, .msg_iovlen = count};
  if (sendmsg(sock, &message, 0) < 0) die("sendmsg");
  read_acks(count);
}

static void report(const char *name, int operations, double elapsed_us) {
  printf("{\"case\":\"%s\",\"operations\":%d,\"usPerOperation\":%.3f}\n", name, operations,
         elapsed_us / operations);
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: floor NETNS_PATH IFINDEX COUNT\n");
    return 2;
  }
  int netns = open(argv[1], O_RDONLY | O_CLOEXEC);
  if (netns < 0 || setns(netns, CLONE_NEWNET) < 0) die(argv[1]);
  int ifindex = atoi(argv[2]);
  int count = atoi(argv[3]) / BATCH * BATCH;
  if (ifindex <= 0 || count <= 0) {
    fprintf(stderr, "floor: IFINDEX and COUNT must be positive (COUNT at least %d)\n", BATCH);
    return 2;
  }

  sock = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (sock < 0) die("socket");
  int on = 1;
  setsockopt(sock, SOL_NETLINK, NETLINK_EXT_ACK, &on, sizeof on);
  setsockopt(sock, SOL_NETLINK, NETLINK_CAP_ACK, &on, sizeof on);
  setsockopt(sock, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &on, sizeof on);
  struct sockaddr_nl local = {.nl_family = AF_NETLINK};
  if (bind(sock, (struct sockaddr *)&local, sizeof local) < 0) die("bind");

  static char buffers[BATCH][MESSAGE_SIZE];
  double start;

  // Address add + delete, one request at a time: 2 requests per pair.
  start = now_us();
  for (int i = 0; i < count; i++) {
    send_one(address_message(buffers[0], RTM_NEWADDR, ifindex, 10));
    send_one(address_message(buffers[0], RTM_DELADDR, ifindex, 10));
  }
  report("address add+delete, one at a time", 2 * count, now_us() - start);

  // The same requests, BATCH per sendmsg.
  start = now_us();
  for (int i = 0; i < count; i += BATCH) {
    for (int j = 0; j < BATCH; j++) address_message(buffers[j], RTM_NEWADDR, ifindex, 10 + j);
    send_many(buffers, BATCH);
    // Secondaries first: deleting the primary address would take the secondaries with it.
    for (int j = 0; j < BATCH; j++)
      address_message(buffers[j], RTM_DELADDR, ifindex, 10 + BATCH - 1 - j);
    send_many(buffers, BATCH);
  }
  report("address add+delete, batched", 2 * count, now_us() - start);

  start = now_us();
  for (int i = 0; i < count; i++) send_one(route_message(buffers[0], ifindex, i & 1));
  report("route replace, one at a time", count, now_us() - start);

  start = now_us();
  for (int i = 0; i < count; i++) send_one(link_message(buffers[0], ifindex, i & 1));
  send_one(link_message(buffers[0], ifindex, 1));
  report("link down/up, one at a time", count, now_us() - start);

  return 0;
}
