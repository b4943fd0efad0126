package chargepoint

import "github.com/evcharging/evsim/messages"

// WaitingForKafka is what an engine that is not ready yet says to its monitor.
const WaitingForKafka = "waiting for Kafka"

// healthAnswer is the engine's answer to its monitor's health check: OK or
// KO, with the engine's own state and the supply it runs.
func (e *Engine) healthAnswer(check *messages.HealthCheck) *messages.HealthAnswer {
	a := &messages.HealthAnswer{CpId: e.cfg.CPID, Seq: check.GetSeq(), Ok: !e.m.KO(), EngineState: e.m.State(),
		Status: messages.HealthStatus_HEALTH_STATUS_OK, KeyId: e.keyID}
	if e.m.KO() {
		a.Status = messages.HealthStatus_HEALTH_STATUS_KO
	}
	if s := e.m.Session(); s != nil {
		a.SessionId, a.DriverId = s.SessionID, s.DriverID
	}
	return a
}

// WaitingAnswer is the answer to a health check for an engine that is alive
// but not ready yet (detail says why, e.g. WaitingForKafka): its process
// answers with it from the moment it starts, so that the monitor reports a
// waiting charge point, not a fault.
func WaitingAnswer(cpID string, check *messages.HealthCheck, detail string) *messages.HealthAnswer {
	return &messages.HealthAnswer{CpId: cpID, Seq: check.GetSeq(), Ok: true,
		Status: messages.HealthStatus_HEALTH_STATUS_WAITING, Detail: detail}
}
