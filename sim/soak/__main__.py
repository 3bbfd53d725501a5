"""python -m sim.soak: see sim/soak/campaign.py."""

import sys

from sim.soak.campaign import main

sys.exit(main())
