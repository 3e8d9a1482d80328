// SpscRing: a bounded, lock-free, single-producer single-consumer queue of trivially copyable
// items — the hand-off between one capture thread and the tracker thread.
//
// The producer never blocks: write() copies as many items as fit and returns how many, so a
// full ring turns into a counted drop in the capture thread instead of back-pressure on the
// kernel ring. Both sides work in batches: one write() or read() publishes or consumes many
// items with a single release store, which is what makes the ring cheap per frame (an atomic
// per item costs ~4x more, measured in bench/).
//
// Memory ordering: each side owns one index and reads it relaxed; it reads the other side's
// index with acquire and publishes its own with release, so items written before a publish are
// visible to the other side after it sees the new index. Indices run freely (64-bit, never
// wrap in practice) and are masked into a power-of-two buffer. Each index sits on its own cache
// line, with a cached copy of the other side's index beside it, so the two threads only touch
// shared lines when the cached view runs out.
//
// Thread-safety: exactly one producer thread and one consumer thread; size() from any thread is
// an estimate.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <type_traits>

namespace camwatch::capture {

template <typename T>
class SpscRing {
  static_assert(std::is_trivially_copyable_v<T>, "items cross threads by plain copies");

 public:
  // `capacity` is rounded up to a power of two (at least 2).
  explicit SpscRing(std::size_t capacity) {
    std::size_t c = 2;
    while (c < capacity) {
      if (c > (std::size_t{1} << 40)) throw std::length_error("SpscRing capacity too large");
      c <<= 1;
    }
    mask_ = c - 1;
    items_ = std::make_unique<T[]>(c);
  }
  SpscRing(const SpscRing&) = delete;
  SpscRing& operator=(const SpscRing&) = delete;

  std::size_t capacity() const noexcept { return mask_ + 1; }

  // Producer: copies up to `count` items, publishes them at once, returns how many fitted.
  std::size_t write(const T* items, std::size_t count) noexcept {
    const std::uint64_t head = producer_.head.load(std::memory_order_relaxed);
    std::uint64_t free_slots = capacity() - (head - producer_.cached_tail);
    if (free_slots < count) {
      producer_.cached_tail = consumer_.tail.load(std::memory_order_acquire);
      free_slots = capacity() - (head - producer_.cached_tail);
    }
    const std::size_t n = count < free_slots ? count : static_cast<std::size_t>(free_slots);
    for (std::size_t i = 0; i < n; ++i) items_[(head + i) & mask_] = items[i];
    if (n != 0) producer_.head.store(head + n, std::memory_order_release);
    return n;
  }

  bool try_write(const T& item) noexcept { return write(&item, 1) == 1; }

  // Consumer: copies up to `max` items out, frees their slots at once, returns how many.
  std::size_t read(T* out, std::size_t max) noexcept {
    const std::uint64_t tail = consumer_.tail.load(std::memory_order_relaxed);
    std::uint64_t available = consumer_.cached_head - tail;
    if (available < max) {
      consumer_.cached_head = producer_.head.load(std::memory_order_acquire);
      available = consumer_.cached_head - tail;
    }
    const std::size_t n = max < available ? max : static_cast<std::size_t>(available);
    for (std::size_t i = 0; i < n; ++i) out[i] = items_[(tail + i) & mask_];
    if (n != 0) consumer_.tail.store(tail + n, std::memory_order_release);
    return n;
  }

  // Items waiting; exact only on the consumer thread when the producer is idle.
  std::size_t size() const noexcept {
    const std::uint64_t head = producer_.head.load(std::memory_order_acquire);
    const std::uint64_t tail = consumer_.tail.load(std::memory_order_acquire);
    return static_cast<std::size_t>(head - tail);
  }

 private:
  static constexpr std::size_t kCacheLine = 64;

  struct alignas(kCacheLine) ProducerSide {
    std::atomic<std::uint64_t> head{0};
    std::uint64_t cached_tail = 0;  // producer's last view of consumer_.tail
  };
  struct alignas(kCacheLine) ConsumerSide {
    std::atomic<std::uint64_t> tail{0};
    std::uint64_t cached_head = 0;  // consumer's last view of producer_.head
  };

  ProducerSide producer_;
  ConsumerSide consumer_;
  std::size_t mask_ = 0;
  std::unique_ptr<T[]> items_;
};

}  // namespace camwatch::capture
