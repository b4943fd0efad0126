package network

import (
	"github.com/evcharging/evsim/actors/monitor"
	"github.com/evcharging/evsim/actors/supervision"
)

// A site node (many charge points, Central in another process) says once,
// for all its monitors, that Central cannot be reached and that it is back:
// its monitors tell one reporter actor (monitor.CentralReporter) instead of
// each writing its own line.

// reporterName is the reporter actor's name under the root supervisor.
const reporterName = "central-reporter"

// sharesReporter says whether the monitors speak through one reporter: a
// remote Central and more than one charge point here.
func (n *Network) sharesReporter() bool {
	return n.cfg.RemoteCentral != nil && len(n.cfg.ChargePoints) > 1
}

func (n *Network) reporterChild() supervision.Child {
	return supervision.Child{Name: reporterName, Display: "Site node reporter",
		Props: monitor.ReporterProps(monitor.ReporterConfig{ChargePoints: len(n.cfg.ChargePoints),
			Gather: 2 * n.cfg.HealthInterval, Logger: n.cfg.Logger})}
}

// centralReporter is what the monitors tell about Central; nil when each
// speaks for itself.
func (n *Network) centralReporter() monitor.CentralReporter {
	if !n.sharesReporter() {
		return nil
	}
	return monitor.NewNodeReporter(n.sys.Root, n.pid(reporterName))
}
