# The image of the `worker` and `beat` services in compose.yaml.
#
#   docker build -t takedown:local .
#
# `pip install .` builds the wheel, which bundles platforms/, templates/ and legal/ into the package
# (see [tool.hatch.build.targets.wheel.force-include] in pyproject.toml), so the image works
# without a checkout. compose.yaml mounts ./platforms over the bundled copy.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md ./
COPY takedown/ takedown/
COPY platforms/ platforms/
COPY templates/ templates/
COPY legal/ legal/
RUN pip install . \
    && rm -rf /src

# Workers never run as root. The home directory is the only place the user can write to
# (besides /tmp).
RUN groupadd --system --gid 10001 takedown \
    && useradd --system --uid 10001 --gid takedown --create-home --home-dir /home/takedown \
       --shell /usr/sbin/nologin takedown
USER 10001:10001
WORKDIR /home/takedown

CMD ["takedown", "worker"]
