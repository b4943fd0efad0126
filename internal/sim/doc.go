// Package sim is evsim's own part of a run, around the network's actors:
// which requests each driver makes (shipped files, a user's files, or a
// seeded plan), the operator command language shared by stdin and scenario
// files, the live terminal panel, and the run summary.
package sim
