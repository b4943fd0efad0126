package sim

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/evcharging/evsim/actors/central"
	"github.com/evcharging/evsim/messages"
)

// ANSI sequences for the live panel.
const (
	ansiReset   = "\x1b[0m"
	ansiGreen   = "\x1b[32m"
	ansiBGreen  = "\x1b[1;32m"
	ansiOrange  = "\x1b[38;5;208m"
	ansiRed     = "\x1b[31m"
	ansiGrey    = "\x1b[90m"
	ansiBold    = "\x1b[1m"
	ansiHome    = "\x1b[H"
	ansiClearEO = "\x1b[J" // clear to the end of the screen
	ansiClearEL = "\x1b[K" // clear to the end of the line
)

// stateLabel is the panel's word and colour for each state (rules.md).
func stateLabel(s messages.ChargePointState) (label, colour string) {
	switch s {
	case messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED:
		return "ACTIVATED", ansiGreen
	case messages.ChargePointState_CHARGE_POINT_STATE_SUPPLYING:
		return "SUPPLYING", ansiBGreen
	case messages.ChargePointState_CHARGE_POINT_STATE_STOPPED:
		return "STOPPED Out of order", ansiOrange
	case messages.ChargePointState_CHARGE_POINT_STATE_FAULT:
		return "FAULT", ansiRed
	case messages.ChargePointState_CHARGE_POINT_STATE_DISCONNECTED:
		return "DISCONNECTED", ansiGrey
	case messages.ChargePointState_CHARGE_POINT_STATE_WAITING:
		return "WAITING Not yet available", ansiGrey
	case messages.ChargePointState_CHARGE_POINT_STATE_REJECTED:
		return "REJECTED", ansiRed
	case messages.ChargePointState_CHARGE_POINT_STATE_REVOKED:
		return "REVOKED", ansiRed
	case messages.ChargePointState_CHARGE_POINT_STATE_UNREGISTERED:
		return "UNREGISTERED Not registered", ansiGrey
	case messages.ChargePointState_CHARGE_POINT_STATE_ENCRYPTION_ERROR:
		return "ENCRYPTION_ERROR", ansiRed
	}
	return "UNKNOWN", ansiGrey
}

// PanelOptions shapes RenderPanel.
type PanelOptions struct {
	Colour bool
	// MaxRows caps the charge point rows; the rest are summarised by state. 0 = all.
	MaxRows int
	// Width truncates each line; 0 = no limit.
	Width int
	// Now is shown in the header.
	Now time.Time
}

// RenderPanel draws the charge point table: id, state, location, price, and
// kW, kWh, EUR and driver while supplying. It shows no personal data beyond
// the driver id.
func RenderPanel(w io.Writer, snap *central.Snapshot, opt PanelOptions) {
	paint := func(colour, s string) string {
		if !opt.Colour {
			return s
		}
		return colour + s + ansiReset
	}
	var lines []string
	t := snap.Totals
	header := fmt.Sprintf("evsim  %s  charge points %d  supplying %d  tickets %d  energy %.2f kWh  revenue %.2f EUR",
		opt.Now.Format("15:04:05"), t.ChargePoints, t.ActiveSupplies, t.Tickets, t.KWh, t.EUR)
	lines = append(lines, paint(ansiBold, header))
	lines = append(lines, fmt.Sprintf("%-10s %-21s %-14s %9s %7s %8s %8s  %s", "CP", "STATE", "LOCATION", "EUR/kWh", "kW", "kWh", "EUR", "DRIVER"))
	rows := snap.ChargePoints
	hidden := 0
	if opt.MaxRows > 0 && len(rows) > opt.MaxRows {
		hidden = len(rows) - opt.MaxRows
		rows = rows[:opt.MaxRows]
	}
	for _, cp := range rows {
		label, colour := stateLabel(cp.State)
		kw, kwh, eur, driver := "", "", "", ""
		if s := cp.Session; s != nil {
			kw = fmt.Sprintf("%.1f", s.KW)
			kwh = fmt.Sprintf("%.3f", s.KWh)
			eur = fmt.Sprintf("%.2f", s.EUR)
			driver = s.DriverID
		}
		line := fmt.Sprintf("%-10s %s %-14s %9.2f %7s %8s %8s  %s",
			cp.ID, paint(colour, fmt.Sprintf("%-21s", label)), truncate(cp.Location, 14), cp.PriceEURPerKWh, kw, kwh, eur, driver)
		lines = append(lines, line)
	}
	if hidden > 0 {
		var parts []string
		for _, s := range []messages.ChargePointState{
			messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED,
			messages.ChargePointState_CHARGE_POINT_STATE_SUPPLYING,
			messages.ChargePointState_CHARGE_POINT_STATE_STOPPED,
			messages.ChargePointState_CHARGE_POINT_STATE_FAULT,
			messages.ChargePointState_CHARGE_POINT_STATE_DISCONNECTED,
		} {
			label, colour := stateLabel(s)
			parts = append(parts, paint(colour, fmt.Sprintf("%s %d", strings.Fields(label)[0], t.ByState[s])))
		}
		lines = append(lines, fmt.Sprintf("... and %d more: %s", hidden, strings.Join(parts, "  ")))
	}
	for _, l := range lines {
		if opt.Width > 0 && !opt.Colour {
			l = truncate(l, opt.Width)
		}
		fmt.Fprintln(w, l)
	}
}

func truncate(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
