package stats

import (
	"math"
	"sync/atomic"
	"time"
)

// LagHistogram records latencies in logarithmic buckets without locks: each
// bucket is 2^(1/4) wider than the one before (about 19 %), from 10 µs up to
// about 170 s, so a percentile is known within a bucket's width.
type LagHistogram struct {
	buckets [lagBuckets]atomic.Int64
	count   atomic.Int64
}

const (
	lagBuckets  = 96
	lagMin      = 10 * time.Microsecond
	lagPerOctet = 4 // buckets per doubling
)

func lagBucket(d time.Duration) int {
	if d <= lagMin {
		return 0
	}
	i := int(math.Log2(float64(d)/float64(lagMin))*lagPerOctet) + 1
	return min(i, lagBuckets-1)
}

// bucketUpper is the largest latency that bucket i holds.
func bucketUpper(i int) time.Duration {
	return time.Duration(float64(lagMin) * math.Pow(2, float64(i)/lagPerOctet))
}

// Observe records one latency; negative values (clock skew) count as zero.
func (h *LagHistogram) Observe(d time.Duration) {
	h.buckets[lagBucket(max(d, 0))].Add(1)
	h.count.Add(1)
}

// Count is how many latencies were recorded.
func (h *LagHistogram) Count() int64 { return h.count.Load() }

// Quantile returns the upper bound of the bucket holding quantile q (0..1),
// or 0 when nothing was recorded.
func (h *LagHistogram) Quantile(q float64) time.Duration {
	n := h.count.Load()
	if n == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(n)))
	rank = max(rank, 1)
	var seen int64
	for i := range h.buckets {
		seen += h.buckets[i].Load()
		if seen >= rank {
			return bucketUpper(i)
		}
	}
	return bucketUpper(lagBuckets - 1)
}
