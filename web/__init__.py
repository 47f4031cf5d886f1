"""The members' web app: server-rendered pages over the three services' public HTTP APIs, nothing more."""
