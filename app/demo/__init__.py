"""Demo data: two years of complaints and surveys at a made-up Turkish municipality.

``memnun demo`` (and ``make run`` on an empty database) calls :func:`load_demo`. The data is
simulated, not random noise: seasonality per unit, resolution times that grow when a unit is busy,
surveys that follow the default distribution rule, and satisfaction that depends on the unit, on
its trend and on whether the complaint was resolved on time, so that the dashboards tell a story.
The same seed gives the same data.
"""

from app.demo.loader import DemoError, load_demo

__all__ = ["DemoError", "load_demo"]
