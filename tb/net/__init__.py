"""The outside network: the wire behind the uplink, external hosts, pcap capture."""
