// Package weather is the weather office (EV_W): every Interval it reads the
// temperature of each city where charge points stand from a Provider, and
// publishes each reading (weather.readings) and each city's alert state
// (weather.alerts, compacted, keyed by the city). At 0 °C or below the
// city is under an alert; the first reading above 0 °C cancels it. Central
// reads the alerts topic and puts the city's charge points out of service
// while an alert holds (actors/central/weather.go).
//
// Providers, one file each:
//   - FileProvider (file.go): offline; a file of "CITY CELSIUS" lines, read
//     again when it changes, and SetTemperature for scenario steps. A city
//     it has no value for gets a mild temperature drawn from the seed.
//   - OpenWeather (openweather.go): the OpenWeather current-weather API.
//
// A failed reading (timeout, refused key, rate limit, malformed answer)
// keeps the city's last reading and its alert state: one WARN per kind of
// failure, one INFO when readings come again.
package weather
