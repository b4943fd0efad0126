package central

import (
	"fmt"

	"github.com/evcharging/evsim/internal/words"
)

// EventRebalance: the group's partitions were assigned anew and this Central
// now shows another set of charge points; a panel that shows it resyncs.
const EventRebalance = "rebalance"

// rebalanced records what this Central owns after a rebalance in its feed.
func (c *Central) rebalanced(parts []int32, dropped, loaded int) {
	c.event(EventRebalance, "", "", fmt.Sprintf("The group's partitions moved: this Central owns %v of %d, %s (%d dropped, %d loaded)",
		parts, c.partitionCount(), words.Count(len(c.cps), "charge point", "charge points"), dropped, loaded))
}

// partitionCount is how many partitions the charge points are spread over.
func (c *Central) partitionCount() int32 {
	if c.group != nil && c.group.total > 0 {
		return c.group.total
	}
	return int32(c.cfg.Partitions)
}
