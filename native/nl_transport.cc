// The I/O path of RouteSocket: sending requests, reading datagrams when the loop reports
// the socket readable, matching replies to requests and reporting completions.
#include <linux/netlink.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "js_call.h"
#include "nl_socket.h"

namespace fstack_kni::netlink {

namespace {

// Datagrams read per wakeup before yielding to the loop; a flood of events cannot starve
// timers and other I/O. Level-triggered polling brings the loop back for the rest.
constexpr int kMaxDatagramsPerWakeup = 256;
// The same recvmsg error this many times in a row is treated as a broken socket.
constexpr int kMaxConsecutiveErrors = 8;
// Room left in receiveBuffer_ beyond the request for an ack's own header and error code
// and its extended-ack attributes; those are far smaller.
constexpr size_t kMaxAckOverhead = 16 * 1024;
// RTM_BASE: rtnetlink message types start here.
constexpr uint16_t kFirstRouteType = 16;

void AppendAligned(std::vector<uint8_t>& buffer, const uint8_t* data, size_t size) {
  buffer.insert(buffer.end(), data, data + size);
  buffer.resize(Align(buffer.size()), 0);
}

// Wraps a payload in a Buffer that owns the vector's memory, so it is not copied again.
Napi::Value PayloadBuffer(Napi::Env env, std::vector<uint8_t>&& bytes) {
  if (bytes.empty()) {
    return Napi::Buffer<uint8_t>::New(env, 0);
  }
  auto* owned = new std::vector<uint8_t>(std::move(bytes));
  return Napi::Buffer<uint8_t>::NewOrCopy(
      env, owned->data(), owned->size(),
      [](Napi::Env, uint8_t*, std::vector<uint8_t>* vector) { delete vector; }, owned);
}

// Calls a JavaScript callback from the event loop. An exception becomes an uncaught
// exception of the process, as for any other event callback, and delivery goes on.
CallOutcome CallFromLoop(Napi::Env env, const Napi::FunctionReference& reference,
                         const std::initializer_list<napi_value>& arguments) {
  if (reference.IsEmpty()) {
    return CallOutcome::Returned;
  }
  napi_value function = reference.Value();
  if (function == nullptr) {
    return CallOutcome::Returned;
  }
  return fstack_kni::CallFromLoop(env, env.Undefined(), function, arguments.size(),
                                  arguments.begin());
}

}  // namespace

int RouteSocket::Send(const uint8_t* data, size_t size) {
  // A datagram is sent whole or not at all: there is no partial send to resume.
  while (send(fd_, data, size, 0) < 0) {
    if (errno != EINTR) {
      return errno;
    }
  }
  return 0;
}

int RouteSocket::StartDump(PendingRequest& request) {
  activeDump_ = request.sequence;
  ++request.attempts;
  request.reply.Reset(true);
  int error = Send(request.dumpRequest.data(), request.dumpRequest.size());
  if (error != 0) {
    activeDump_ = 0;
  }
  return error;
}

// The kernel runs one dump per socket at a time; the next one starts when the last ends.
void RouteSocket::StartQueuedDumps() {
  while (activeDump_ == 0 && !queuedDumps_.empty() && fd_ >= 0) {
    PendingRequest* request = requests_.Find(queuedDumps_.front());
    queuedDumps_.pop_front();
    if (request == nullptr) {
      continue;
    }
    int error = StartDump(*request);
    if (error != 0) {
      Complete(*request, Status::SocketError, error);
    }
  }
}

// Whether the reply to `message`, about to be sent, may be read right after the send by
// ReadAckNow. That needs a queue that can hold nothing else: no dump running or queued,
// no multicast membership, no other request pending. And it needs a reply no larger than
// an ack, so that one recvmsg into receiveBuffer_ (at least 64 KiB) cannot truncate it:
// not a GET (rtnetlink type & 3 == 2) and no NLM_F_ECHO. An ack echoes at most the
// request's header (NETLINK_CAP_ACK) plus a few hundred bytes of extended-ack attributes.
bool RouteSocket::CanReadAckNow(const uint8_t* message, size_t size) const {
  MessageHeader header;
  ReadHeader(message, size, &header);
  bool isGet = header.type >= kFirstRouteType && (header.type & 3) == 2;
  return activeDump_ == 0 && !packetInfo_ && onEvent_.IsEmpty() && !isGet &&
         (header.flags & NLM_F_ECHO) == 0 && size + kMaxAckOverhead <= receiveBuffer_.size();
}

// Reads the next datagram right after a send. The kernel handles a rtnetlink request
// inside sendmsg, so its ack is normally queued already, and a request whose ack is plain
// (error 0, no extended ack) completes without a trip through the event loop. Any other
// datagram is dispatched as usual and delivered from the loop on its next iteration.
AckResult RouteSocket::ReadAckNow(uint32_t sequence) {
  ssize_t received = ReceiveFromKernel();
  if (received < 0) {
    int error = static_cast<int>(-received);
    if (error == EAGAIN || error == EWOULDBLOCK || error == EINTR) {
      return AckResult::NotRead;
    }
    // recv reports a pending socket error once and clears it, so keep it for the loop.
    HandleReceiveError(error);
    return AckResult::Failed;
  }

  const uint8_t* data = receiveBuffer_.data();
  if (IsPlainAck(data, static_cast<size_t>(received), sequence, portId_)) {
    return AckResult::Acknowledged;
  }

  Dispatch(data, static_cast<size_t>(received), false, 0);
  ScheduleRead();
  return AckResult::Dispatched;
}

void RouteSocket::OnPoll(uv_poll_t* handle, int status, int events) {
  auto* state = static_cast<PollState*>(handle->data);
  if (state->owner == nullptr) {
    return;
  }
  // libuv reports EPOLLERR as UV_EBADF and stops the handle. On a netlink socket EPOLLERR
  // means a pending socket error such as ENOBUFS, which recvmsg reports and clears, so
  // polling goes on and the read below handles it.
  if (status == UV_EBADF) {
    uv_poll_start(handle, UV_READABLE, &RouteSocket::OnPoll);
    status = 0;
  }
  ReadFromLoop(state->owner, status);
}

void RouteSocket::OnDeferredRead(uv_timer_t* timer) {
  auto* state = static_cast<PollState*>(timer->data);
  if (state->owner != nullptr) {
    ReadFromLoop(state->owner, 0);
  }
}

// No C++ exception may unwind into libuv. Node-API calls fail (and node-addon-api throws)
// once the environment is shutting down, a worker's for instance, and then nothing can be
// delivered anyway.
void RouteSocket::ReadFromLoop(RouteSocket* socket, int pollStatus) {
  try {
    socket->ReadAvailable(pollStatus);
  } catch (const Napi::Error&) {
    socket->completions_.clear();
    socket->delivering_.clear();
    socket->events_.clear();
  }
}

void RouteSocket::ScheduleRead() {
  if (poll_ != nullptr) {
    uv_timer_start(&poll_->deferredRead, &RouteSocket::OnDeferredRead, 0, 0);
  }
}

// Records a recvmsg error seen outside ReadAvailable and schedules a ReadAvailable to
// handle it.
void RouteSocket::HandleReceiveError(int error) {
  if (error == ENOBUFS) {
    overflowSeen_ = true;
  } else {
    deferredError_ = error;
  }
  ScheduleRead();
}

void RouteSocket::ReadAvailable(int pollStatus) {
  bool overflow = false;
  if (pollStatus < 0) {
    CompleteAll(Status::SocketError, -pollStatus);
  }

  int lastError = 0;
  int repeatedErrors = 0;
  for (int count = 0; pollStatus >= 0 && fd_ >= 0; ++count) {
    if (overflowSeen_) {
      // The kernel dropped messages for lack of receive buffer: events, or replies.
      overflowSeen_ = false;
      overflow = true;
      MarkRepliesMaybeLost();
      DiscardStaleEvents();
    }
    if (deferredError_ != 0) {
      // Other errors come from sk_err, which the kernel sets when it failed to produce the
      // next part of a dump (out of memory). That dump will not finish by itself.
      // NOTE: untested, since it needs the kernel to run out of memory. The kernel keeps
      // such a dump open and may resume it on a later read, so the next dump on this socket
      // can fail with EBUSY.
      int error = deferredError_;
      deferredError_ = 0;
      if (PendingRequest* dump = requests_.Find(activeDump_)) {
        Complete(*dump, Status::SocketError, error);
        StartQueuedDumps();
      }
      repeatedErrors = error == lastError ? repeatedErrors + 1 : 1;
      lastError = error;
      if (repeatedErrors >= kMaxConsecutiveErrors) {
        // The socket is broken (say EBADF); polling it would only spin.
        CompleteAll(Status::SocketError, error);
        uv_poll_stop(&poll_->poll);
        break;
      }
    }

    // After an ENOBUFS the queue is read to the end before the loop gets control back,
    // because only then is it known which replies the kernel dropped.
    if (count >= kMaxDatagramsPerWakeup && !suspectLostReplies_) {
      break;
    }

    bool multicast = false;
    uint32_t sender = 0;
    ssize_t received = ReceiveDatagram(&multicast, &sender, true);
    if (received >= 0) {
      repeatedErrors = 0;
      Dispatch(receiveBuffer_.data(), static_cast<size_t>(received), multicast, sender);
      if (requests_.size() == 0 && onEvent_.IsEmpty() && !suspectLostReplies_) {
        break;
      }
      continue;
    }

    int error = static_cast<int>(-received);
    if (error == EAGAIN || error == EWOULDBLOCK) {
      FailLostReplies();
      break;
    }
    if (error == ENOBUFS) {
      overflowSeen_ = true;
    } else if (error != EINTR) {
      deferredError_ = error;
    }
  }

  Deliver(overflow);
}

// Reads one datagram into receiveBuffer_ and returns its size or -errno. With `peekFirst`,
// MSG_PEEK | MSG_TRUNC (with no buffer) first returns the size of the next datagram and the
// buffer grows to fit, so nothing is ever truncated. Without it the caller must know the
// datagram fits (CanReadAckNow). A datagram truncated all the same is reported as lost,
// like an overflow, and the buffer grows for the next one.
ssize_t RouteSocket::ReceiveDatagram(bool* multicast, uint32_t* sender, bool peekFirst) {
  if (peekFirst) {
    iovec nothing{nullptr, 0};
    msghdr peek{};
    peek.msg_iov = &nothing;
    peek.msg_iovlen = 1;
    ssize_t size = recvmsg(fd_, &peek, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT);
    if (size < 0) {
      return -errno;
    }
    if (static_cast<size_t>(size) > receiveBuffer_.size()) {
      receiveBuffer_.resize(Align(static_cast<size_t>(size)));
    }
  }

  sockaddr_nl from{};
  alignas(cmsghdr) uint8_t control[CMSG_SPACE(sizeof(nl_pktinfo))];
  iovec data{receiveBuffer_.data(), receiveBuffer_.size()};
  msghdr message{};
  message.msg_name = &from;
  message.msg_namelen = sizeof from;
  message.msg_iov = &data;
  message.msg_iovlen = 1;
  if (packetInfo_) {
    message.msg_control = control;
    message.msg_controllen = sizeof control;
  }

  ssize_t received = recvmsg(fd_, &message, MSG_DONTWAIT | MSG_TRUNC);
  if (received < 0) {
    return -errno;
  }
  if (message.msg_flags & MSG_TRUNC) {
    receiveBuffer_.resize(Align(static_cast<size_t>(received)));
    return -ENOBUFS;
  }

  *sender = from.nl_pid;
  *multicast = from.nl_groups != 0;
  if (packetInfo_ && PacketInfoGroup(control, message.msg_controllen) != 0) {
    *multicast = true;
  }
  return received;
}

// Reads one datagram into receiveBuffer_ with a plain recv, for ReadAckNow only, and
// returns its size or -errno. recv skips the msghdr and the sender's address that recvmsg
// copies in and out, which cost about 4% of a batched request in a C variant of the
// floor (docs/benchmarks.md). The sender needs no check here: the socket is connected to
// the kernel, so the kernel refuses unicast to it from any other port, and CanReadAckNow
// excludes a socket that joined groups, the only way to receive multicast. A truncated
// datagram is handled as in ReceiveDatagram.
ssize_t RouteSocket::ReceiveFromKernel() {
  ssize_t received =
      recv(fd_, receiveBuffer_.data(), receiveBuffer_.size(), MSG_DONTWAIT | MSG_TRUNC);
  if (received < 0) {
    return -errno;
  }
  if (static_cast<size_t>(received) > receiveBuffer_.size()) {
    receiveBuffer_.resize(Align(static_cast<size_t>(received)));
    return -ENOBUFS;
  }
  return received;
}

// Routes the messages of one datagram. A message with our port id and the sequence number
// of a pending request is its reply, except in a multicast datagram. The kernel multicasts
// the notification of a change to the socket that made it too, with the request's port id
// and sequence number. With NLM_F_ECHO it unicasts that notification instead, but the
// datagram still carries the group, so for such a request it is a reply all the same.
// Everything else from the kernel is an event. Messages for requests that already
// completed (a stray ack after a dump) are dropped.
void RouteSocket::Dispatch(const uint8_t* data, size_t size, bool multicast, uint32_t sender) {
  if (sender != 0) {
    return;
  }

  MessageWalker walker(data, size);
  MessageView message;
  while (walker.Next(&message)) {
    const MessageHeader& header = message.header;
    if (header.sequence != 0 && header.portId == portId_) {
      PendingRequest* request = requests_.Find(header.sequence);
      bool running = request != nullptr && (!request->dump || request->sequence == activeDump_);
      if (running && (!multicast || request->echo)) {
        HandleReply(*request, message);
        continue;
      }
      if (!multicast) {
        continue;
      }
    }
    if (!onEvent_.IsEmpty()) {
      AppendAligned(events_, message.bytes, message.size);
    }
  }
}

void RouteSocket::HandleReply(PendingRequest& request, const MessageView& message) {
  if (!request.reply.Add(message)) {
    return;
  }
  if (request.dump) {
    FinishDump(request);
    return;
  }
  int error = request.reply.error();
  Complete(request, error == 0 ? Status::Ok : Status::KernelError, error);
}

// NLM_F_DUMP_INTR means the objects changed while the dump ran, so it may have missed or
// repeated some. Such a dump is run again, up to dumpAttempts times in all.
void RouteSocket::FinishDump(PendingRequest& request) {
  const ReplyCollector& reply = request.reply;
  if (reply.error() != 0) {
    Complete(request, Status::KernelError, reply.error());
  } else if (reply.interrupted() && request.attempts < dumpAttempts_) {
    int error = StartDump(request);
    if (error == 0) {
      return;
    }
    Complete(request, Status::SocketError, error);
  } else if (reply.interrupted()) {
    Complete(request, Status::DumpInterrupted, EINTR);
  } else {
    Complete(request, Status::Ok, 0);
  }
  StartQueuedDumps();
}

void RouteSocket::Complete(PendingRequest& request, Status status, int error) {
  completions_.emplace_back();
  Completion& completion = completions_.back();
  completion.sequence = request.sequence;
  completion.status = status;
  completion.error = error;
  completion.dump = request.dump;
  if (status == Status::Ok) {
    completion.payload = std::move(request.reply.payload());
  }
  completion.extackMessage = request.reply.extackMessage();
  completion.extackOffset = request.reply.extackOffset();

  if (request.sequence == activeDump_) {
    activeDump_ = 0;
  }
  requests_.Release(request);
}

void RouteSocket::CompleteAll(Status status, int error) {
  queuedDumps_.clear();
  for (uint32_t sequence : requests_.Sequences()) {
    Complete(*requests_.Find(sequence), status, error);
  }
  activeDump_ = 0;
}

// Replies to plain requests are produced inside their sendmsg, so every request sent
// before the ENOBUFS has its reply queued or dropped by now.
void RouteSocket::MarkRepliesMaybeLost() {
  requests_.ForEach([this](PendingRequest& request) {
    if (!request.dump) {
      request.replyMayBeLost = true;
      suspectLostReplies_ = true;
    }
  });
}

// After an ENOBUFS, the notifications read so far in this wakeup and those still queued are
// older than the ones the kernel dropped, and applied after the resync's fresh dumps they
// would undo later changes. So they are discarded: the queue is read until it is empty,
// which also lets the kernel queue notifications again (it stops after a drop until then).
// All of this happens before the overflow reaches JavaScript and its resync dumps the
// state, so the dumps cover every discarded notification. Replies read meanwhile are
// dispatched as usual. Under a flood the queue may never be empty. So the loop stops
// after more bytes than the receive buffer holds, which is past every notification older
// than the drop.
void RouteSocket::DiscardStaleEvents() {
  if (onEvent_.IsEmpty()) {
    return;
  }
  events_.clear();

  int receiveBuffer = 0;
  socklen_t length = sizeof receiveBuffer;
  if (getsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receiveBuffer, &length) < 0) {
    receiveBuffer = 0;
  }
  // Payload bytes are fewer than the memory the kernel charges for them, and one datagram
  // may be queued over the limit, hence the margin.
  const size_t limit = static_cast<size_t>(receiveBuffer) + 64 * 1024;
  size_t discarded = 0;
  while (fd_ >= 0 && discarded <= limit) {
    bool multicast = false;
    uint32_t sender = 0;
    ssize_t received = ReceiveDatagram(&multicast, &sender, true);
    if (received < 0) {
      int error = static_cast<int>(-received);
      if (error == ENOBUFS || error == EINTR) {
        continue;
      }
      if (error != EAGAIN && error != EWOULDBLOCK) {
        deferredError_ = error;
      }
      break;
    }
    Dispatch(receiveBuffer_.data(), static_cast<size_t>(received), multicast, sender);
    events_.clear();
    discarded += static_cast<size_t>(received);
  }
}

// Runs once the queue is empty: a marked request still waiting lost its reply.
void RouteSocket::FailLostReplies() {
  if (!suspectLostReplies_) {
    return;
  }
  suspectLostReplies_ = false;
  requests_.ForEach([this](PendingRequest& request) {
    if (request.replyMayBeLost) {
      Complete(request, Status::SocketError, ENOBUFS);
    }
  });
}

void RouteSocket::Deliver(bool overflow) {
  if (!overflow && events_.empty() && completions_.empty()) {
    return;
  }

  Napi::Env env = Env();
  Napi::HandleScope handleScope(env);
  delivering_.swap(completions_);
  std::vector<uint8_t> events;
  events.swap(events_);

  // Collected but not finalized yet: no callback is left to call.
  if (Value().IsEmpty()) {
    delivering_.clear();
    return;
  }

  {
    // Promise reactions queued by the callbacks run when this scope closes.
    Napi::CallbackScope callbackScope(env, *asyncContext_);
    CallOutcome outcome = CallOutcome::Returned;
    if (overflow) {
      outcome = CallFromLoop(env, onOverflow_, {});
    }
    if (!events.empty() && outcome != CallOutcome::CannotRunJs) {
      outcome = CallFromLoop(env, onEvent_, {PayloadBuffer(env, std::move(events))});
    }
    for (Completion& completion : delivering_) {
      if (outcome == CallOutcome::CannotRunJs) {
        break;
      }
      outcome = CallReply(env, completion);
    }
    delivering_.clear();
    if (outcome == CallOutcome::CannotRunJs) {
      // The environment is shutting down, and its cleanup hook closes the socket.
      return;
    }
    UpdateRef();
  }
}

CallOutcome RouteSocket::CallReply(Napi::Env env, Completion& completion) {
  napi_value payload = env.Undefined();
  if (completion.status == Status::Ok && (completion.dump || !completion.payload.empty())) {
    payload = PayloadBuffer(env, std::move(completion.payload));
  }
  napi_value extackMessage = env.Undefined();
  if (!completion.extackMessage.empty()) {
    extackMessage = Napi::String::New(env, completion.extackMessage);
  }

  return CallFromLoop(env, onReply_,
                      {Napi::Number::New(env, completion.sequence),
                       Napi::Number::New(env, static_cast<int32_t>(completion.status)),
                       Napi::Number::New(env, completion.error), payload, extackMessage,
                       Napi::Number::New(env, static_cast<double>(completion.extackOffset))});
}

}  // namespace fstack_kni::netlink
