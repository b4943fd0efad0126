package web

// RoutePatterns are the patterns the server's mux was given, for the test
// that holds them against the OpenAPI document.
func (s *Server) RoutePatterns() []string { return s.patterns }

// StateNames are the panel's states, in the panel's order.
func StateNames() []string { return append([]string(nil), stateNames...) }
