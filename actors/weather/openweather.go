package weather

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"
)

// DefaultOpenWeatherURL is OpenWeather's current-weather endpoint.
const DefaultOpenWeatherURL = "https://api.openweathermap.org/data/2.5/weather"

// OpenWeather reads temperatures from OpenWeather's current-weather API:
// GET URL?q=CITY&appid=KEY&units=metric, whose answer carries main.temp in °C.
type OpenWeather struct {
	// URL is the endpoint. Default DefaultOpenWeatherURL.
	URL string
	// Key is the API key (appid). Required.
	Key string
	// Timeout bounds one request. Default 3 s.
	Timeout time.Duration
	// Client makes the requests. Default: a client of its own.
	Client *http.Client
}

// Name implements Provider.
func (o *OpenWeather) Name() string { return "openweather" }

// openWeatherAnswer is the part of OpenWeather's answer that is read.
type openWeatherAnswer struct {
	Main *struct {
		Temp *float64 `json:"temp"`
	} `json:"main"`
	Message string `json:"message"`
}

// Read implements Provider.
func (o *OpenWeather) Read(ctx context.Context, city string) (float64, error) {
	endpoint, timeout, client := o.URL, o.Timeout, o.Client
	if endpoint == "" {
		endpoint = DefaultOpenWeatherURL
	}
	if timeout <= 0 {
		timeout = 3 * time.Second
	}
	if client == nil {
		client = http.DefaultClient
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	u, err := url.Parse(endpoint)
	if err != nil {
		return 0, &ReadError{Kind: FailUnavailable, Detail: fmt.Sprintf("bad OpenWeather URL %q: %v", endpoint, err)}
	}
	q := u.Query()
	q.Set("q", city)
	q.Set("appid", o.Key)
	q.Set("units", "metric")
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return 0, &ReadError{Kind: FailUnavailable, Detail: err.Error()}
	}
	res, err := client.Do(req)
	if err != nil {
		return 0, requestFailure(ctx, err, timeout)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return 0, requestFailure(ctx, err, timeout)
	}
	var a openWeatherAnswer
	jsonErr := json.Unmarshal(body, &a)
	switch {
	case res.StatusCode == http.StatusUnauthorized:
		return 0, &ReadError{Kind: FailUnauthorized, Detail: "OpenWeather refused the API key (401" + said(a.Message) + ")"}
	case res.StatusCode == http.StatusTooManyRequests:
		return 0, &ReadError{Kind: FailRateLimited, Detail: "OpenWeather limits the requests (429" + said(a.Message) + ")"}
	case res.StatusCode == http.StatusNotFound:
		return 0, &ReadError{Kind: FailNotFound, Detail: fmt.Sprintf("OpenWeather knows no city %q (404)", city)}
	case res.StatusCode != http.StatusOK:
		return 0, &ReadError{Kind: FailUnavailable, Detail: fmt.Sprintf("OpenWeather answered %d%s", res.StatusCode, said(a.Message))}
	case jsonErr != nil:
		return 0, &ReadError{Kind: FailMalformed, Detail: "OpenWeather's answer is not the JSON expected: " + jsonErr.Error()}
	case a.Main == nil || a.Main.Temp == nil:
		return 0, &ReadError{Kind: FailMalformed, Detail: "OpenWeather's answer has no main.temp"}
	}
	return *a.Main.Temp, nil
}

func said(msg string) string {
	if msg == "" {
		return ""
	}
	return ": " + msg
}

// requestFailure says why a request got no answer.
func requestFailure(ctx context.Context, err error, timeout time.Duration) error {
	var ne net.Error
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		return &ReadError{Kind: FailTimeout, Detail: fmt.Sprintf("OpenWeather did not answer within %v", timeout)}
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return &ReadError{Kind: FailUnavailable, Detail: "cannot reach OpenWeather: " + err.Error()}
}
