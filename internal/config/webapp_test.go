package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestWebAppFlagsHaveDefaultsVariablesAndBounds(t *testing.T) {
	c, err := ParseSim(nil, env())
	if err != nil {
		t.Fatal(err)
	}
	if w := c.WebApp; w.DriverReplyTimeout != 10*time.Second || w.DriverMax != 1000 || w.SeriesInterval != 2*time.Second || w.SeriesPoints != 1800 || w.MemberTimeout != 2*time.Second {
		t.Errorf("defaults: %+v", w)
	}
	n, err := ParseCentral([]string{"--http-series-points", "60"}, env("EVSIM_DRIVER_APP_MAX_DRIVERS", "5", "EVSIM_HTTP_SERIES_INTERVAL", "1s", "EVSIM_HTTP_MEMBER_TIMEOUT", "700ms"))
	if err != nil {
		t.Fatal(err)
	}
	if w := n.WebApp; w.DriverMax != 5 || w.SeriesInterval != time.Second || w.SeriesPoints != 60 || w.MemberTimeout != 700*time.Millisecond {
		t.Errorf("evnode central from flags and variables: %+v", w)
	}
	for _, tc := range []struct {
		args []string
		flag string
	}{
		{[]string{"--driver-app-reply-timeout", "0s"}, "driver-app-reply-timeout"},
		{[]string{"--driver-app-max-drivers", "0"}, "driver-app-max-drivers"},
		{[]string{"--http-series-interval", "1ms"}, "http-series-interval"},
		{[]string{"--http-series-points", "1"}, "http-series-points"},
		{[]string{"--http-member-timeout", "0s"}, "http-member-timeout"},
	} {
		_, err := ParseSim(tc.args, env())
		var u *UsageError
		if !errors.As(err, &u) || u.Flag != tc.flag || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: %v, want one line naming --%s", tc.args, err, tc.flag)
		}
	}
}
