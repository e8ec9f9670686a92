# syntax=docker/dockerfile:1
# Stage 1: the inbox, built once with Node.
FROM node:20-bookworm-slim AS frontend
WORKDIR /src/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY frontend/ ./
RUN npm run build

# Stage 2: the Python environment, resolved from uv.lock.
FROM python:3.11-slim-bookworm AS python
COPY --from=ghcr.io/astral-sh/uv:0.9 /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY backend/ backend/
COPY worker/ worker/
RUN uv sync --frozen --no-dev

# Stage 3: the runtime image: no compilers, no Node, not root.
FROM python:3.11-slim-bookworm AS runtime
RUN useradd --create-home --uid 10001 switchboard
WORKDIR /app
COPY --from=python /app /app
COPY --from=frontend /src/frontend/dist /app/frontend/dist
ENV PATH=/app/.venv/bin:$PATH PYTHONUNBUFFERED=1 ENVIRONMENT=production VAR_DIR=/app/var
RUN mkdir -p /app/var && chown switchboard /app/var
USER switchboard
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/health').status == 200 else 1)"
CMD ["switchboard", "web", "--host", "0.0.0.0", "--port", "8000"]
