// Analyzer: every analysis camwatch runs on the observations, behind one interface.
//
// The replay and the live daemon feed observations (in packet-time order) to one Analyzer, which
// hands each to:
//  - the Tracker: the learned CAM table, moves (silent, announced), flaps, failover stories;
//  - the NlbInventory: Windows NLB clusters and hosts, `nlb_unicast_host` events;
//  - the BindingTable: IP <-> MAC bindings from ARP and neighbour discovery (`new_binding`,
//    `changed_mac`, `flip_flop`, `ip_conflict`), unless disabled;
// and merges their events into one stream in packet-time order: the inventory's and the
// bindings' events are decided at once and ordered through Tracker::emit(). On the way out,
// events about an NLB host (moves, flaps, failover stories' members) get its NLB identity, and
// the latest failover stories are kept for `camwatch table` and the state file.
//
// Only frames that carry more than a station (a notification, an address claim, a heartbeat) go
// beyond the tracker, so the ordinary frame costs one branch more than the tracker alone.
//
// Thread-safety: none; one thread owns an Analyzer, like a Tracker. Never throws from
// observe()/advance()/finish().
#pragma once

#include <deque>
#include <memory>
#include <span>

#include "cam/bindings.h"
#include "cam/event.h"
#include "cam/failover.h"
#include "cam/nlb.h"
#include "cam/observation.h"
#include "cam/tracker.h"

namespace camwatch::cam {

struct AnalyzerConfig {
  TrackerConfig tracker;
  NlbConfig nlb;
  bool bindings_enabled = true;
  BindingConfig bindings;
};

// How many of the latest failover stories an Analyzer keeps (recent_stories()).
inline constexpr std::size_t kRecentStories = 20;

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
  // As Tracker::reconfigure: false when a table size (cam or bindings max_entries) differs,
  // which only a restart can change; everything else is applied either way.
  bool reconfigure(const AnalyzerConfig& config);
  void finish() noexcept { tracker_.finish(); }

  Tracker& tracker() noexcept { return tracker_; }
  const Tracker& tracker() const noexcept { return tracker_; }
  const NlbInventory& nlb() const noexcept { return nlb_; }
  BindingTable& bindings() noexcept { return bindings_; }
  const BindingTable& bindings() const noexcept { return bindings_; }
  bool bindings_enabled() const noexcept { return bindings_enabled_; }
  // The latest failover stories, oldest first, as published (with NLB identities).
  const std::deque<std::shared_ptr<const FailoverStory>>& recent_stories() const noexcept {
    return publisher_.recent;
  }
  // Puts back a story saved by an earlier run (state file), oldest first; no event.
  void restore_story(std::shared_ptr<const FailoverStory> story);

 private:
  // Adds what the inventory knows to events about NLB hosts, then hands them to the user's sink.
  class Publisher final : public EventSink {
   public:
    Publisher(EventSink& sink, const NlbInventory& nlb) : sink_(sink), nlb_(nlb) {}
    void on_event(const Event& e) override;
    void keep(std::shared_ptr<const FailoverStory> story);
    std::deque<std::shared_ptr<const FailoverStory>> recent;

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
  BindingTable bindings_;
  bool bindings_enabled_;
};

}  // namespace camwatch::cam
