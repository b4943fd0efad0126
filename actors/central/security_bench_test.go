package central_test

import (
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/evcharging/evsim/actors/central"
	"github.com/evcharging/evsim/actors/internal/testkit"
	"github.com/evcharging/evsim/actors/registry"
	"github.com/evcharging/evsim/messages"
)

// BenchmarkRegistration is what one monitor's registration costs Central,
// as a request to its actor and the answer: in the open mode (a secret)
// and with the Registry's token verified offline.
func BenchmarkRegistration(b *testing.B) {
	for _, mode := range []string{"open-secret", "registry-token"} {
		b.Run(mode, func(b *testing.B) {
			sys, logger, _ := testkit.NewSystem(b)
			cfg := central.Config{LivenessTimeout: time.Hour, Logger: logger}
			msg := &messages.RegisterChargePoint{CpId: "CP-001", Secret: "s3cret", Kw: 22, PriceEurPerKwh: 0.3}
			if mode == "registry-token" {
				reg := newRegistry(b)
				out, err := reg.reg.Register(admin, registry.Registration{ID: "CP-001", Location: "A", PriceEURPerKWh: 0.3})
				if err != nil {
					b.Fatal(err)
				}
				tok, err := reg.reg.IssueToken(admin, "CP-001", out.Credential)
				if err != nil {
					b.Fatal(err)
				}
				cfg.Tokens = &registry.VerifierOptions{Initial: reg.reg.Records}
				msg.Token = tok.Token
			}
			c := spawnCentral(b, sys, cfg)
			// One monitor (a fixed sender) registering again and again.
			answers := make(chan *messages.RegistrationResult, 1)
			mon := sys.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
				switch m := ctx.Message().(type) {
				case *messages.RegisterChargePoint:
					ctx.Request(c, m)
				case *messages.RegistrationResult:
					answers <- m
				}
			}))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				sys.Root.Send(mon, msg)
				if res := <-answers; !res.GetAccepted() {
					b.Fatalf("registration refused: %v", res)
				}
			}
		})
	}
}
