// Analyzer: every analysis camwatch runs on the observations, behind one interface.
//
// The replay and the live daemon feed observations (in packet-time order) to one Analyzer, which
// hands each to:
//  - the Tracker: the learned CAM table, moves (silent, announced), flaps, failover stories;
//  - the NlbInventory: Windows NLB clusters and hosts, `nlb_unicast_host` events;
// and merges their events into one stream in packet-time order: the inventory's events are
// decided at once and ordered through Tracker::emit(). On the way out, events about an NLB host
// (moves, flaps, failover stories' members) get its NLB identity.
//
// Only frames that carry more than a station (a notification, an address claim, a heartbeat) go
// beyond the tracker, so the ordinary frame costs one branch more than the tracker alone.
//
// Thread-safety: none; one thread owns an Analyzer, like a Tracker. Never throws from
// observe()/advance()/finish().
#pragma once

#include <memory>
#include <span>

#include "cam/event.h"
#include "cam/nlb.h"
#include "cam/observation.h"
#include "cam/tracker.h"

namespace camwatch::cam {

struct AnalyzerConfig {
  TrackerConfig tracker;
  NlbConfig nlb;
};

class Analyzer {
 public:
  // Throws std::invalid_argument on a configuration the tracker rejects.
  Analyzer(const AnalyzerConfig& config, EventSink& sink);
  ~Analyzer();
  Analyzer(const Analyzer&) = delete;
  Analyzer& operator=(const Analyzer&) = delete;

  void observe(const Observation& obs) noexcept {
    tracker_.observe(obs);
    if (obs.carries_more_than_station()) [[unlikely]] observe_more(obs);
  }
  // Many observations in order, as observe() of each would: the tracker's batch path, which
  // hands each frame carrying more to the other analyses before it takes the next.
  void observe(std::span<const Observation> batch) noexcept { tracker_.observe(batch, &follow_up_); }
  void advance(PacketTime now) noexcept;
  void uplink_state(UplinkId uplink, bool up, PacketTime time) noexcept { tracker_.uplink_state(uplink, up, time); }
  // As Tracker::reconfigure (false: max_entries cannot change while running).
  bool reconfigure(const AnalyzerConfig& config);
  void finish() noexcept { tracker_.finish(); }

  Tracker& tracker() noexcept { return tracker_; }
  const Tracker& tracker() const noexcept { return tracker_; }
  const NlbInventory& nlb() const noexcept { return nlb_; }

 private:
  // Adds what the inventory knows to events about NLB hosts, then hands them to the user's sink.
  class Publisher final : public EventSink {
   public:
    Publisher(EventSink& sink, const NlbInventory& nlb) : sink_(sink), nlb_(nlb) {}
    void on_event(const Event& e) override;

   private:
    EventSink& sink_;
    const NlbInventory& nlb_;
  };
  // Sends the side analyses' decisions through the tracker's ordering.
  class Orderer final : public EventSink {
   public:
    void on_event(const Event& e) override { tracker_->emit(e); }
    Tracker* tracker_ = nullptr;
  };

  void observe_more(const Observation& obs) noexcept;

  class FollowUp final : public Tracker::FollowUp {
   public:
    explicit FollowUp(Analyzer& analyzer) : analyzer_(analyzer) {}
    void after(const Observation& obs) noexcept override { analyzer_.observe_more(obs); }

   private:
    Analyzer& analyzer_;
  };

  Orderer orderer_;
  FollowUp follow_up_{*this};
  NlbInventory nlb_;
  Publisher publisher_;
  Tracker tracker_;
};

}  // namespace camwatch::cam
