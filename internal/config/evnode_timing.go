package config

import "time"

// The timings that a role hosting one and a role hosting many share:
// `evnode engine` and `evnode site` (engines), `evnode driver` and
// `evnode drivers` (drivers).

func addEngineTimingFlags(fs *FlagSet, telemetry, supply *time.Duration, scale *float64) {
	fs.Duration(telemetry, "telemetry-interval", "", time.Second, "how often the engine reports while supplying")
	fs.Duration(supply, "supply-duration", "", 10*time.Second, "how long a simulated vehicle stays plugged in")
	fs.Float(scale, "time-scale", "", DefaultTimeScale, "simulated seconds of charging per real second (1 = real time)")
}

func validateEngineTiming(telemetry, supply time.Duration, scale float64) error {
	switch {
	case telemetry <= 0:
		return Usagef("telemetry-interval", "must be more than 0")
	case supply <= 0:
		return Usagef("supply-duration", "must be more than 0")
	case scale <= 0 || scale > 3600:
		return Usagef("time-scale", "%g is out of range (more than 0, at most 3600)", scale)
	}
	return nil
}

func addDriverPacingFlags(fs *FlagSet, pause, reply, delay *time.Duration) {
	fs.Duration(pause, "driver-pause", "", 4*time.Second, "pause after each request ends")
	fs.Duration(reply, "reply-timeout", "", 10*time.Second, "how long to wait for Central's answer before saying it cannot be reached")
	fs.Duration(delay, "start-delay", "", 0, "wait this long after Kafka is ready before the first request")
}

func validateDriverPacing(pause, reply, delay time.Duration) error {
	switch {
	case pause < 0:
		return Usagef("driver-pause", "%v is negative", pause)
	case reply <= 0:
		return Usagef("reply-timeout", "must be more than 0")
	case delay < 0:
		return Usagef("start-delay", "%v is negative", delay)
	}
	return nil
}
