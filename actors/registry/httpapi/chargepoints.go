package httpapi

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/evcharging/evsim/actors/registry"
)

type registerRequest struct {
	ID             string   `json:"id"`
	Location       string   `json:"location"`
	PriceEURPerKWh *float64 `json:"price_eur_kwh"`
	// Rotate renews the credential of an existing charge point.
	Rotate bool `json:"rotate,omitempty"`
}

type registerResponse struct {
	ID         string `json:"id"`
	Credential string `json:"credential"`
}

// decodeRegister reads a registration body; price is required.
func decodeRegister(r *http.Request) (registry.Registration, error) {
	var req registerRequest
	if err := decodeBody(r.Body, &req); err != nil {
		return registry.Registration{}, err
	}
	if req.PriceEURPerKWh == nil {
		return registry.Registration{}, errors.New("price_eur_kwh is required")
	}
	return registry.Registration{ID: req.ID, Location: req.Location, PriceEURPerKWh: *req.PriceEURPerKWh, Rotate: req.Rotate}, nil
}

func (s *Server) register(w http.ResponseWriter, r *http.Request) {
	g, err := decodeRegister(r)
	if err != nil {
		writeError(w, r, http.StatusBadRequest, err.Error())
		return
	}
	out, err := s.opts.Registry.Register(caller(r, "admin"), g)
	if err != nil {
		writeRegistryError(w, r, err)
		return
	}
	status := http.StatusCreated
	if out.Rotated {
		status = http.StatusOK
	}
	w.Header().Set("Location", "/v1/chargepoints/"+out.ID)
	writeJSON(w, status, registerResponse{ID: out.ID, Credential: out.Credential})
}

type listResponse struct {
	ChargePoints  []registry.View `json:"chargepoints"`
	NextPageToken string          `json:"next_page_token,omitempty"`
}

// Page sizes of GET /v1/chargepoints.
const (
	defaultPageSize = 50
	maxPageSize     = 500
)

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	size := defaultPageSize
	if v := r.URL.Query().Get("page_size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPageSize {
			writeError(w, r, http.StatusBadRequest, "page_size must be a whole number from 1 to 500")
			return
		}
		size = n
	}
	after := r.URL.Query().Get("page_token")
	views, next, err := s.opts.Registry.List(after, size)
	if err != nil {
		writeRegistryError(w, r, err)
		return
	}
	if views == nil {
		views = []registry.View{}
	}
	writeJSON(w, http.StatusOK, listResponse{ChargePoints: views, NextPageToken: next})
}

func (s *Server) get(w http.ResponseWriter, r *http.Request) {
	v, err := s.opts.Registry.Get(r.PathValue("id"))
	if err != nil {
		writeRegistryError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) deregister(w http.ResponseWriter, r *http.Request) {
	if err := s.opts.Registry.Deregister(caller(r, "admin"), r.PathValue("id")); err != nil {
		writeRegistryError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) revoke(w http.ResponseWriter, r *http.Request) {
	v, err := s.opts.Registry.Revoke(caller(r, "admin"), r.PathValue("id"))
	if err != nil {
		writeRegistryError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}
