// Simulation-only AXI-Stream ends for sim/tops/sim_stream_source.sv and
// sim_stream_sink.sv (DPI-C) and tb/net/hdl_stream.py (ctypes), in the same
// shared library as the host bus (libsimhost.so), so the model and Python see
// one state. Python hands whole frames over; the HDL shifts the beats in and out
// and asks C once per clock edge. The source follows tb/net/axis_fast.py's
// FastStreamSource cycle for cycle, WirePacing included (the same double
// arithmetic); the sink compacts sparse tkeep as cocotbext-axi's recv() does.
// tests/test_hdl_stream.py compares both with cocotbext-axi and FastStreamSource.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <deque>
#include <map>
#include <vector>

#include "svdpi.h"

namespace {

struct Pacing {
  bool on = false;
  double bits_per_cycle = 400.0;
  double period_ns = 4.0;
  int overhead_bytes = 20;

  double cycles(size_t frame_bytes) const {
    return static_cast<double>(frame_bytes + overhead_bytes) * 8 / bits_per_cycle;
  }
};

// A frame Python queued, and when: Python's coroutines woken by a clock edge run
// before the model evaluates that edge, so a frame queued in that time step would
// otherwise be seen one edge earlier than FastStreamSource sees it.
struct TxFrame {
  std::vector<uint8_t> data;
  double queued_ns;
};

struct Source {
  int data_bytes = 64;
  std::deque<TxFrame> queue;
  std::vector<uint8_t> frame;  // the frame on the wire (empty: none)
  int beat = 0;                // its beat on the bus
  int beats = 0;
  uint64_t done = 0;  // frames whose last beat was accepted
  Pacing pacing;
  double next_start = 0.0;  // earliest cycle the next frame's first beat may be accepted
};

struct RxFrame {
  std::vector<uint8_t> data;
  int64_t start_ns, end_ns;
};

struct Sink {
  int data_bytes = 64;
  std::vector<uint8_t> buf;  // the frame being received
  bool in_frame = false;     // a beat of it was accepted (buf may still be empty)
  int64_t start_ns = 0;
  std::deque<RxFrame> frames;
  uint64_t received = 0;       // frames completed since open
  uint64_t taken = 0;          // of those, popped by Python
  uint64_t notify_at = UINT64_MAX;  // wake Python once received reaches it
  int notify_seq = 0;          // the module's frames_done: changes once per wake-up
};

// Keyed by the channel number the SV module is built with; a channel Python has not
// opened drives nothing and takes nothing.
struct Streams {
  std::map<int, Source> sources;
  std::map<int, Sink> sinks;
};

Streams g;

Source* source(int ch) {
  auto it = g.sources.find(ch);
  return it == g.sources.end() ? nullptr : &it->second;
}

Sink* sink(int ch) {
  auto it = g.sinks.find(ch);
  return it == g.sinks.end() ? nullptr : &it->second;
}

// The beat ``s.beat`` of the current frame into the module's outputs.
void drive(const Source& s, svBitVecVal* data, svBitVecVal* keep, int* last) {
  const int db = s.data_bytes;
  const size_t at = static_cast<size_t>(s.beat) * db;
  const int n = static_cast<int>(std::min<size_t>(db, s.frame.size() - at));
  auto* d = reinterpret_cast<uint8_t*>(data);
  std::memset(d, 0, db);
  std::memcpy(d, s.frame.data() + at, n);
  auto* k = reinterpret_cast<uint8_t*>(keep);
  std::memset(k, 0, (db + 7) / 8);
  for (int i = 0; i < n / 8; i++) k[i] = 0xFF;
  if (n % 8) k[n / 8] = static_cast<uint8_t>((1u << (n % 8)) - 1);
  *last = s.beat == s.beats - 1;
}

}  // namespace

extern "C" {

// ---- Python side (ctypes) ----------------------------------------------------------

// (Re)open a source channel: nothing queued, nothing on the wire, no pacing.
void simstream_source_open(int ch, int data_bytes) {
  Source& s = g.sources[ch];
  s = Source{};
  s.data_bytes = data_bytes;
}

void simstream_source_pacing(int ch, int on, double bits_per_cycle, double period_ns,
                             int overhead_bytes) {
  if (Source* s = source(ch)) {
    s->pacing.on = on != 0;
    s->pacing.bits_per_cycle = bits_per_cycle;
    s->pacing.period_ns = period_ns;
    s->pacing.overhead_bytes = overhead_bytes;
  }
}

// Queue a frame at simulated time ``now_ns``; it may start at the first edge after it.
void simstream_source_push(int ch, const uint8_t* data, int64_t len, double now_ns) {
  if (Source* s = source(ch)) {
    s->queue.push_back(TxFrame{std::vector<uint8_t>(data, data + len), now_ns});
  }
}

// Frames queued and not yet started.
int64_t simstream_source_queued(int ch) {
  Source* s = source(ch);
  return s ? static_cast<int64_t>(s->queue.size()) : 0;
}

// A frame is on the wire (its last beat not yet accepted).
int simstream_source_busy(int ch) {
  Source* s = source(ch);
  return s && !s->frame.empty();
}

uint64_t simstream_source_done(int ch) {
  Source* s = source(ch);
  return s ? s->done : 0;
}

void simstream_source_clear(int ch) {
  if (Source* s = source(ch)) s->queue.clear();
}

void simstream_sink_open(int ch, int data_bytes) {
  Sink& k = g.sinks[ch];
  k = Sink{};
  k.data_bytes = data_bytes;
}

// Forget a sink or tap channel and its frames (a tap after its capture ends).
void simstream_sink_close(int ch) { g.sinks.erase(ch); }

// How many frames are complete and not yet taken; their total length in ``bytes``.
int64_t simstream_sink_pending(int ch, int64_t* bytes) {
  Sink* k = sink(ch);
  *bytes = 0;
  if (!k) return 0;
  for (const RxFrame& f : k->frames) *bytes += static_cast<int64_t>(f.data.size());
  return static_cast<int64_t>(k->frames.size());
}

// Take the ``n`` oldest complete frames (n <= pending()): their bytes one after the
// other into ``out`` (room for pending()'s byte count), each one's length and the
// times in ns of its first and last beat into ``lens``, ``start_ns``, ``end_ns``.
// One call per batch: Python pays its foreign-call cost once, not per frame.
void simstream_sink_take(int ch, int64_t n, uint8_t* out, int64_t* lens, int64_t* start_ns,
                         int64_t* end_ns) {
  Sink* k = sink(ch);
  if (!k) return;
  for (int64_t i = 0; i < n && !k->frames.empty(); ++i) {
    RxFrame& f = k->frames.front();
    std::memcpy(out, f.data.data(), f.data.size());
    out += f.data.size();
    lens[i] = static_cast<int64_t>(f.data.size());
    start_ns[i] = f.start_ns;
    end_ns[i] = f.end_ns;
    k->frames.pop_front();
    k->taken++;
  }
}

// Wake Python (a change of the module's frames_done) once ``frames`` more frames than
// Python has taken are complete; an earlier request for fewer stays in force.
// Python asks only after taking every complete frame, so the count is in the future.
void simstream_sink_notify(int ch, int64_t frames) {
  Sink* k = sink(ch);
  if (!k) return;
  k->notify_at = std::min(k->notify_at, k->taken + static_cast<uint64_t>(frames));
}

// A frame is partly received.
int simstream_sink_busy(int ch) {
  Sink* k = sink(ch);
  return k && k->in_frame;
}

// ---- HDL side (DPI-C) --------------------------------------------------------------

// Called by sim_stream_source at every rising edge while its beat is not held:
// ``accepted`` = the beat it drove was taken at this edge. Returns whether a beat
// is driven after this edge, and that beat. Mirrors FastStreamSource._run: the
// next frame starts right after the edge that accepted the previous last beat
// (back to back) or, with pacing, after the first edge e with e + 1 >= next_start;
// never at the edge of the time step it was queued in (see TxFrame).
int sim_stream_source_step(int ch, int64_t now_ns, int accepted, svBitVecVal* data,
                           svBitVecVal* keep, int* last) {
  *last = 0;
  Source* s = source(ch);
  if (!s) return 0;
  if (accepted && !s->frame.empty()) {
    if (++s->beat == s->beats) {
      s->frame.clear();
      s->done++;
    }
  }
  if (s->frame.empty()) {
    if (s->queue.empty() || s->queue.front().queued_ns >= static_cast<double>(now_ns)) return 0;
    const size_t n = s->queue.front().data.size();
    if (s->pacing.on) {
      const double now = static_cast<double>(now_ns) / s->pacing.period_ns;
      if (now + 1 < s->next_start) return 0;
      // less than a cycle late is the edge quantizing the link's start: keep the
      // link's time (FastStreamSource does the same)
      const double start = (now + 1 - s->next_start < 1) ? s->next_start : now + 1;
      s->next_start = start + s->pacing.cycles(n);
    }
    s->frame = std::move(s->queue.front().data);
    s->queue.pop_front();
    s->beat = 0;
    s->beats = static_cast<int>((n + s->data_bytes - 1) / s->data_bytes);
  }
  drive(*s, data, keep, last);
  return 1;
}

// Frames queued or on the wire, for the module's busy output.
int sim_stream_source_pending(int ch) {
  Source* s = source(ch);
  return s ? static_cast<int>(s->queue.size()) + !s->frame.empty() : 0;
}

// Called by sim_stream_sink for every beat accepted at a rising edge. Returns the
// module's frames_done: it changes (one Python wake-up) when a frame completes and
// Python asked to be woken by then (simstream_sink_notify); otherwise frames just
// queue in C, costing Python nothing until it looks.
int sim_stream_sink_beat(int ch, int64_t now_ns, const svBitVecVal* data,
                         const svBitVecVal* keep, int last) {
  Sink* k = sink(ch);
  if (!k) return 0;
  if (!k->in_frame) {
    k->in_frame = true;
    k->start_ns = now_ns;
  }
  const auto* d = reinterpret_cast<const uint8_t*>(data);
  const auto* m = reinterpret_cast<const uint8_t*>(keep);
  const int db = k->data_bytes;
  for (int i = 0; i < db; i++)
    if (m[i / 8] >> (i % 8) & 1) k->buf.push_back(d[i]);
  if (last) {
    k->frames.push_back(RxFrame{std::move(k->buf), k->start_ns, now_ns});
    k->buf.clear();
    k->in_frame = false;
    if (++k->received >= k->notify_at) {
      k->notify_at = UINT64_MAX;
      k->notify_seq++;
    }
  }
  return k->notify_seq;
}

}  // extern "C"
