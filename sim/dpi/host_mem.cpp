// Simulation-only host bus back end: host memory, the IOMMU's translation and
// the write watches, for sim/tops/sim_host_bus.sv (DPI-C) and tb/host/hdl_bus.py
// (ctypes). One shared library (libsimhost.so) holds the state: the Verilator
// model links against it and Python opens the same file, so both see the same
// instance. The state is per host bus instance (sim_host_bus's INSTANCE
// parameter, the first argument of every call), so one model can hold several
// hosts, each with its own memory, IOMMU mirror, watches and logs
// (sim/tops/two_host_top.sv); a single-host top uses instance 0. Memory is
// HostMemory's numpy buffer (zero-copy); the IOMMU domains and the watched
// ranges are mirrors that Python keeps up to date. Semantics
// follow tb/host/dma_responder.py (burst layout, whole-burst translation,
// SLVERR/DECERR, statistics); tests/test_hdl_bus.py compares the two.
// Run-time faults set from Python (the soak's host-bus faults, docs/ROBUSTNESS.md):
// injected error responses (the next N read or write bursts of a function that
// cover an address range answered SLVERR, logged as injected, never translated)
// and an extra read/write latency that sim_host_bus adds to the bursts it
// accepts while it is set (sim_host_extra_latency).

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "svdpi.h"

namespace {

constexpr int kPageShift = 12;
constexpr uint64_t kPageMask = (1ull << kPageShift) - 1;
constexpr uint64_t k4K = 4096;
constexpr int kOkay = 0, kSlverr = 2, kDecerr = 3;
constexpr int kFixed = 0, kIncr = 1, kWrap = 2;
constexpr int kPermR = 1, kPermW = 2;

struct Domain {
  bool passthrough = false;
  bool has_limit = false;
  uint64_t limit = 0;
  std::unordered_map<uint64_t, uint64_t> pages;  // IOVA page -> (PA page << 2) | perm
};

// One refused burst, for Python to turn into a BusError (and, unless injected, an
// IOMMU fault record).
struct ErrorRecord {
  int32_t func;
  int32_t write;
  int32_t axi_id;
  int32_t resp;
  int32_t injected;  // 1: answered by an injected error, not refused by translation
  int32_t pad;
  uint64_t addr;  // the burst's start address
  uint64_t lo;    // first byte of the range the burst covers
  uint64_t len;   // bytes of that range
};

// Traffic of one function, the fields of dma_responder.FunctionStats in order.
struct Stats {
  uint64_t read_bursts, read_beats, read_bytes, write_bursts, write_beats, write_bytes,
      read_errors, write_errors;
};

struct Config {
  int32_t read_latency = 125;
  int32_t write_latency = 1;
  int32_t max_reads = 32;
  int32_t max_writes = 32;
};

// Where the beats of a burst sit (dma_responder.burst_layout).
struct Lane {
  uint64_t off;  // offset in the covered range
  int lane;      // first byte lane on the bus
  int n;         // bytes
};
struct Layout {
  uint64_t lo = 0, hi = 0;
  bool fast = false;  // full-width INCR: beat i is bytes [lo + i*DB, lo + (i+1)*DB)
  std::vector<Lane> beats;
};

struct Segment {
  uint64_t pa, len;
};

// Injected error responses: the next ``count`` bursts of ``func`` in one direction
// whose covered range meets [lo, hi) are answered SLVERR.
struct Injection {
  int func;
  bool write;
  uint64_t count, lo, hi;
};

struct Host {
  uint8_t* mem = nullptr;
  uint64_t mem_size = 0;
  int data_bytes = 64;
  Config cfg;
  std::map<int, Domain> domains;
  std::map<int64_t, std::pair<uint64_t, uint64_t>> watches;  // id -> [lo, hi)
  std::deque<ErrorRecord> errors;
  std::deque<std::pair<uint64_t, uint64_t>> hits;  // written ranges that touched a watch
  std::deque<std::string> violations;
  std::map<int, Stats> stats;
  std::vector<Injection> injections;  // oldest first; spent ones removed
  int32_t extra_read = 0, extra_write = 0;  // cycles added to bursts accepted now
  std::vector<uint8_t> rbuf;  // beats of the read burst on the R channel
  std::vector<uint8_t> wdata, wstrb;  // beats received of the write burst at the W head
};

// Every host bus instance's state, created on first use.
std::map<int, Host> g_hosts;

Host& host(int inst) { return g_hosts[inst]; }

Layout burst_layout(uint64_t addr, int beats, int size, int burst, int db) {
  Layout lay;
  const uint64_t nb = 1ull << size;
  const uint64_t base = addr & ~(nb - 1);
  if (burst == kIncr && nb == static_cast<uint64_t>(db)) {
    lay.lo = base;
    lay.hi = base + beats * nb;
    lay.fast = true;
    return lay;
  }
  std::vector<uint64_t> addrs(beats);
  if (burst == kFixed) {
    lay.lo = base;
    lay.hi = base + nb;
    for (auto& a : addrs) a = addr;
  } else if (burst == kWrap) {
    const uint64_t total = beats * nb;
    lay.lo = addr & ~(total - 1);
    lay.hi = lay.lo + total;
    for (int i = 0; i < beats; i++) addrs[i] = lay.lo + ((base - lay.lo) + i * nb) % total;
  } else {  // INCR, narrow (reserved burst types too, as the Python model does)
    lay.lo = base;
    lay.hi = base + beats * nb;
    addrs[0] = addr;
    for (int i = 1; i < beats; i++) addrs[i] = base + i * nb;
  }
  for (uint64_t a : addrs) {
    const int lane = static_cast<int>(a % db);
    const int end = static_cast<int>((a & ~(nb - 1)) % db + nb);
    lay.beats.push_back({a - lay.lo, lane, end - lane});
  }
  return lay;
}

// IommuDomain.translate plus DmaPath's bounds check; returns the AXI response.
int translate(const Host& g, int func, uint64_t iova, uint64_t length, bool write,
              std::vector<Segment>& segs) {
  segs.clear();
  auto it = g.domains.find(func);
  if (it == g.domains.end()) return kDecerr;
  const Domain& d = it->second;
  if (length > 0) {
    if (d.passthrough) {
      if (d.has_limit && iova + length > d.limit) return kDecerr;
      segs.push_back({iova, length});
    } else {
      const int need = write ? kPermW : kPermR;
      for (uint64_t a = iova, end = iova + length; a < end;) {
        const uint64_t chunk = std::min(end, (a | kPageMask) + 1) - a;
        auto p = d.pages.find(a >> kPageShift);
        if (p == d.pages.end()) return kDecerr;
        if (!(p->second & need)) return kSlverr;
        const uint64_t pa = ((p->second >> 2) << kPageShift) | (a & kPageMask);
        if (!segs.empty() && segs.back().pa + segs.back().len == pa) {
          segs.back().len += chunk;
        } else {
          segs.push_back({pa, chunk});
        }
        a += chunk;
      }
    }
  }
  for (const Segment& s : segs) {  // (no memory handed over yet: nothing is inside it)
    if (g.mem == nullptr || s.pa + s.len > g.mem_size || s.pa + s.len < s.pa) return kDecerr;
  }
  return kOkay;
}

bool touches_watch(const Host& g, uint64_t lo, uint64_t hi) {
  for (const auto& [id, w] : g.watches) {
    if (w.first < hi && lo < w.second) return true;
  }
  return false;
}

// Whether an injected error answers this burst (one of its count used up).
bool take_injection(Host& g, int func, bool write, uint64_t lo, uint64_t hi) {
  for (auto it = g.injections.begin(); it != g.injections.end(); ++it) {
    if (it->func == func && it->write == write && it->lo < hi && lo < it->hi) {
      if (--it->count == 0) g.injections.erase(it);
      return true;
    }
  }
  return false;
}

void violation(Host& g, const char* fmt, uint64_t a, uint64_t b, uint64_t c, uint64_t d,
               uint64_t e) {
  char buf[256];
  std::snprintf(buf, sizeof buf, fmt, a, b, c, d, e);
  g.violations.emplace_back(buf);
}

}  // namespace

extern "C" {

// ---------------------------------------------------------------- Python (ctypes)

void simhost_set_memory(int32_t inst, void* base, uint64_t size) {
  Host& g = host(inst);
  g.mem = static_cast<uint8_t*>(base);
  g.mem_size = size;
}

void simhost_set_config(int32_t inst, int32_t read_latency, int32_t write_latency,
                        int32_t max_reads, int32_t max_writes) {
  Host& g = host(inst);
  g.cfg = {read_latency, write_latency, max_reads, max_writes};
}

// Forget every domain, watch, log entry and statistic (a new testbench).
void simhost_clear(int32_t inst) {
  Host& g = host(inst);
  g.domains.clear();
  g.watches.clear();
  g.errors.clear();
  g.hits.clear();
  g.violations.clear();
  g.stats.clear();
  g.injections.clear();
  g.extra_read = g.extra_write = 0;
}

// The next ``count`` read (write = 0) or write bursts of ``func`` whose covered range
// meets [lo, hi) are answered SLVERR; added after any injection armed before.
void simhost_inject_error(int32_t inst, int32_t func, int32_t write, uint64_t count, uint64_t lo,
                          uint64_t hi) {
  if (count > 0 && lo < hi) host(inst).injections.push_back({func, write != 0, count, lo, hi});
}

// Injected errors not yet used, over every function and direction.
uint64_t simhost_injections_left(int32_t inst) {
  uint64_t n = 0;
  for (const Injection& i : host(inst).injections) n += i.count;
  return n;
}

void simhost_clear_injections(int32_t inst) { host(inst).injections.clear(); }

// Extra cycles of latency for the bursts sim_host_bus accepts from now on (0: none).
void simhost_set_extra_latency(int32_t inst, int32_t read_extra, int32_t write_extra) {
  Host& g = host(inst);
  g.extra_read = std::max(read_extra, 0);
  g.extra_write = std::max(write_extra, 0);
}

void simhost_domain_create(int32_t inst, int32_t func, int32_t passthrough, int32_t has_limit,
                           uint64_t limit) {
  Host& g = host(inst);
  Domain d;
  d.passthrough = passthrough != 0;
  d.has_limit = has_limit != 0;
  d.limit = limit;
  g.domains[func] = std::move(d);
}

void simhost_domain_remove(int32_t inst, int32_t func) { host(inst).domains.erase(func); }

void simhost_domain_map(int32_t inst, int32_t func, uint64_t vpn, uint64_t ppn, uint64_t pages,
                        int32_t perm) {
  Host& g = host(inst);
  Domain& d = g.domains[func];
  for (uint64_t i = 0; i < pages; i++) d.pages[vpn + i] = ((ppn + i) << 2) | (perm & 3);
}

void simhost_domain_unmap(int32_t inst, int32_t func, uint64_t vpn, uint64_t pages) {
  Host& g = host(inst);
  auto it = g.domains.find(func);
  if (it == g.domains.end()) return;
  for (uint64_t i = 0; i < pages; i++) it->second.pages.erase(vpn + i);
}

void simhost_domain_clear(int32_t inst, int32_t func) {
  Host& g = host(inst);
  auto it = g.domains.find(func);
  if (it != g.domains.end()) it->second.pages.clear();
}

uint64_t simhost_domain_pages(int32_t inst, int32_t func) {
  Host& g = host(inst);
  auto it = g.domains.find(func);
  return it == g.domains.end() ? 0 : it->second.pages.size();
}

void simhost_watch_add(int32_t inst, int64_t id, uint64_t lo, uint64_t hi) {
  host(inst).watches[id] = {lo, hi};
}

void simhost_watch_remove(int32_t inst, int64_t id) { host(inst).watches.erase(id); }

// Drains: each returns 1 and fills its outputs while entries remain, else 0.
int32_t simhost_next_error(int32_t inst, ErrorRecord* out) {
  Host& g = host(inst);
  if (g.errors.empty()) return 0;
  *out = g.errors.front();
  g.errors.pop_front();
  return 1;
}

int32_t simhost_next_hit(int32_t inst, uint64_t* lo, uint64_t* hi) {
  Host& g = host(inst);
  if (g.hits.empty()) return 0;
  *lo = g.hits.front().first;
  *hi = g.hits.front().second;
  g.hits.pop_front();
  return 1;
}

int32_t simhost_next_violation(int32_t inst, char* out, int32_t cap) {
  Host& g = host(inst);
  if (g.violations.empty()) return 0;
  std::snprintf(out, cap, "%s", g.violations.front().c_str());
  g.violations.pop_front();
  return 1;
}

// Functions with statistics, into funcs[0..cap); returns how many there are.
int32_t simhost_stat_funcs(int32_t inst, int32_t* funcs, int32_t cap) {
  Host& g = host(inst);
  int32_t n = 0;
  for (const auto& [f, s] : g.stats) {
    if (n < cap) funcs[n] = f;
    n++;
  }
  return n;
}

void simhost_stats_of(int32_t inst, int32_t func, Stats* out) {
  Host& g = host(inst);
  auto it = g.stats.find(func);
  *out = it == g.stats.end() ? Stats{} : it->second;
}

// ---------------------------------------------------------------- SV (DPI-C)

// Latched by sim_host_bus while its reset is high; drops the bursts in flight.
void sim_host_config(int inst, int data_bytes, int* read_latency, int* write_latency,
                     int* max_reads, int* max_writes) {
  Host& g = host(inst);
  g.data_bytes = data_bytes;
  *read_latency = g.cfg.read_latency;
  *write_latency = g.cfg.write_latency;
  *max_reads = g.cfg.max_reads;
  *max_writes = g.cfg.max_writes;
  g.rbuf.clear();
  g.wdata.clear();
  g.wstrb.clear();
}

// Extra latency for a burst accepted now: a read at its AR handshake, a write at its
// last W beat (where its write latency starts).
int sim_host_extra_latency(int inst, int write) {
  const Host& g = host(inst);
  return write ? g.extra_write : g.extra_read;
}

// AXI rules of an accepted AR/AW (AxiDmaResponder._check_burst); 1 if one is broken.
int sim_host_check_burst(int inst, int write, int axi_id, long long addr_s, int beats, int size,
                         int burst) {
  Host& g = host(inst);
  const uint64_t addr = static_cast<uint64_t>(addr_s);
  const size_t before = g.violations.size();
  const char* ch = write ? "AW" : "AR";
  char where[128];
  std::snprintf(where, sizeof where, "%s id 0x%x addr 0x%llx len %d size %d", ch, axi_id,
                static_cast<unsigned long long>(addr), beats - 1, size);
  std::string w(where);
  if ((1 << size) > g.data_bytes) {
    g.violations.push_back(w + ": size exceeds the " + std::to_string(g.data_bytes) +
                           "-byte data bus");
  }
  if (burst == kIncr) {
    const uint64_t end = (addr & ~((1ull << size) - 1)) + (static_cast<uint64_t>(beats) << size);
    if (addr / k4K != (end - 1) / k4K) {
      g.violations.push_back(w + ": INCR burst crosses a 4 KiB boundary");
    }
  } else if (burst == kWrap) {
    if ((beats != 2 && beats != 4 && beats != 8 && beats != 16) || (addr & ((1ull << size) - 1))) {
      g.violations.push_back(w + ": WRAP burst needs len 2/4/8/16 and an aligned address");
    }
  } else if (burst != kFixed) {
    g.violations.push_back(w + ": reserved burst type " + std::to_string(burst));
  }
  return g.violations.size() != before;
}

// A burst's last W beat arrived with the wrong wlast (AxiDmaResponder._take_w).
void sim_host_wlast_violation(int inst, int beat, int beats, int axi_id, long long addr,
                              int wlast) {
  Host& g = host(inst);
  violation(g, "W beat %llu of %llu (awid 0x%llx awaddr 0x%llx) has wlast=%llu",
            static_cast<uint64_t>(beat), static_cast<uint64_t>(beats),
            static_cast<uint64_t>(axi_id), static_cast<uint64_t>(addr),
            static_cast<uint64_t>(wlast));
}

// Start returning a read burst: translate and read it whole, as the Python model does
// when it drives the first beat. Returns the response; *notify = an error was logged.
int sim_host_read_burst(int inst, int func, int axi_id, long long addr_s, int beats, int size,
                        int burst, int* notify) {
  Host& g = host(inst);
  const uint64_t addr = static_cast<uint64_t>(addr_s);
  const int db = g.data_bytes;
  const Layout lay = burst_layout(addr, beats, size, burst, db);
  Stats& st = g.stats[func];
  st.read_bursts++;
  st.read_beats += beats;
  g.rbuf.assign(static_cast<size_t>(beats) * db, 0);
  std::vector<Segment> segs;
  const bool injected = take_injection(g, func, false, lay.lo, lay.hi);
  const int resp = injected ? kSlverr : translate(g, func, lay.lo, lay.hi - lay.lo, false, segs);
  *notify = resp != kOkay;
  if (resp != kOkay) {
    st.read_errors++;
    g.errors.push_back({func, 0, axi_id, resp, injected, 0, addr, lay.lo, lay.hi - lay.lo});
    return resp;
  }
  std::vector<uint8_t> buf(lay.hi - lay.lo);
  uint64_t off = 0;
  for (const Segment& s : segs) {
    std::memcpy(buf.data() + off, g.mem + s.pa, s.len);
    off += s.len;
  }
  if (lay.fast) {
    std::memcpy(g.rbuf.data(), buf.data(), buf.size());
    st.read_bytes += lay.hi - addr;
  } else {
    for (size_t i = 0; i < lay.beats.size(); i++) {
      const Lane& l = lay.beats[i];
      std::memcpy(g.rbuf.data() + i * db + l.lane, buf.data() + l.off, l.n);
      st.read_bytes += l.n;
    }
  }
  return resp;
}

// Beat ``idx`` of the current read burst.
void sim_host_read_beat(int inst, int idx, svBitVecVal* data) {
  Host& g = host(inst);
  const int db = g.data_bytes;
  const size_t at = static_cast<size_t>(idx) * db;
  if (at + db <= g.rbuf.size()) {
    std::memcpy(data, g.rbuf.data() + at, db);
  } else {
    std::memset(data, 0, db);
  }
}

// Beat ``idx`` of the write burst at the head of the W channel (idx 0 starts a burst).
void sim_host_write_beat(int inst, int idx, const svBitVecVal* data, const svBitVecVal* strb) {
  Host& g = host(inst);
  const int db = g.data_bytes;
  if (idx == 0) {
    g.wdata.clear();
    g.wstrb.clear();
  }
  const auto* d = reinterpret_cast<const uint8_t*>(data);
  const auto* s = reinterpret_cast<const uint8_t*>(strb);
  g.wdata.insert(g.wdata.end(), d, d + db);
  g.wstrb.insert(g.wstrb.end(), s, s + (db + 7) / 8);
}

// The write burst's last beat arrived: write the received beats to memory through the
// IOMMU (AxiDmaResponder._finish_write). Returns the response; *notify = an error was
// logged or a written range touched a watch.
int sim_host_write_burst(int inst, int func, int axi_id, long long addr_s, int beats, int size,
                         int burst, int* notify) {
  Host& g = host(inst);
  const uint64_t addr = static_cast<uint64_t>(addr_s);
  const int db = g.data_bytes;
  const int sb = (db + 7) / 8;
  const int got = static_cast<int>(g.wdata.size() / db);
  const Layout lay = burst_layout(addr, beats, size, burst, db);
  Stats& st = g.stats[func];
  st.write_bursts++;
  st.write_beats += got;
  const uint64_t n = lay.hi - lay.lo;
  std::vector<uint8_t> buf(n, 0), mask(n, 0);
  auto strobe = [&](int beat, int lane) {
    return (g.wstrb[static_cast<size_t>(beat) * sb + lane / 8] >> (lane % 8)) & 1;
  };
  if (lay.fast) {
    const uint64_t head = addr - lay.lo;  // lanes of beat 0 below the start address
    for (int b = 0; b < got && b < beats; b++) {
      for (int lane = 0; lane < db; lane++) {
        const uint64_t o = static_cast<uint64_t>(b) * db + lane;
        buf[o] = g.wdata[o];
        mask[o] = o >= head && strobe(b, lane);
      }
    }
  } else {
    const size_t cnt = std::min(lay.beats.size(), static_cast<size_t>(got));
    for (size_t b = 0; b < cnt; b++) {  // later beats overwrite earlier ones (FIXED)
      const Lane& l = lay.beats[b];
      for (int k = 0; k < l.n; k++) {
        buf[l.off + k] = g.wdata[b * db + l.lane + k];
        mask[l.off + k] = strobe(static_cast<int>(b), l.lane + k);
      }
    }
  }
  std::vector<Segment> segs;
  const bool injected = take_injection(g, func, true, lay.lo, lay.hi);
  const int resp = injected ? kSlverr : translate(g, func, lay.lo, n, true, segs);
  *notify = 0;
  if (resp != kOkay) {
    st.write_errors++;
    g.errors.push_back({func, 1, axi_id, resp, injected, 0, addr, lay.lo, n});
    *notify = 1;
    return resp;
  }
  uint64_t off = 0, written = 0;
  for (const Segment& s : segs) {
    bool any = false;
    for (uint64_t k = 0; k < s.len; k++) {
      if (mask[off + k]) {
        g.mem[s.pa + k] = buf[off + k];
        any = true;
        written++;
      }
    }
    if (any && !g.watches.empty() && touches_watch(g, s.pa, s.pa + s.len)) {
      g.hits.emplace_back(s.pa, s.pa + s.len);
      *notify = 1;
    }
    off += s.len;
  }
  st.write_bytes += written;
  return resp;
}

}  // extern "C"
