"""Shared pieces of every dashboard: the data source, variables, links, and the panel kinds the
dashboards use (stat, table, time series, bar gauge, state timeline) with the project's look.

A dashboard module only says *what* to show; layout (grid positions), panel ids, the data source
reference on every panel and query, and the dashboard-level conventions (uid/title prefix, tag,
links, annotations) come from here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, Self

from grafana_foundation_sdk.builders import (
    bargauge,
    common,
    prometheus,
    stat,
    statetimeline,
    table,
    timeseries,
)
from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as dm
from grafana_foundation_sdk.models import prometheus as pm

TAG = "azure-update-exporter"
UID_PREFIX = "azure-update-"
TITLE_PREFIX = "Azure Update / "
OVERVIEW_UID = "azure-update-overview"

# Every panel and query reads from the data source the user picks; no uid is ever hard-coded.
DATASOURCE = dm.DataSourceRef(type_val="prometheus", uid="${datasource}")

# Selector fragments for the shared filters (regex matchers, so "All" = ".*" matches everything).
JOB = 'job=~"$job"'
SUBSCRIPTION = 'subscription_id=~"$subscription"'
RESOURCE_GROUP = 'resource_group=~"$resource_group"'

# Colours by meaning, so "failed" is the same red on every dashboard (DISABLED: a grey that reads
# as "nothing here" on a stat's background).
OK, BUSY, WARN, BAD, NEUTRAL, DISABLED = "green", "blue", "orange", "red", "text", "#8e8e8e"

Steps = Sequence[tuple[float | None, str]]


class PanelBuilder(Protocol):
    """What every panel builder of the SDK (stat.Panel, table.Panel, ...) offers."""

    def build(self) -> dm.Panel: ...
    def height(self, h: int) -> Self: ...
    def span(self, w: int) -> Self: ...
    def override_by_name(self, name: str, properties: list[dm.DynamicConfigValue]) -> Self: ...


# ---------------------------------------------------------------------------------------------
# Variables
# ---------------------------------------------------------------------------------------------


def datasource_variable() -> db.DatasourceVariable:
    return db.DatasourceVariable("datasource").label("Data source").type("prometheus")


def query_variable(name: str, label: str, query: str, *, description: str = "") -> db.QueryVariable:
    """A multi-value variable with "All" (matching any value, also series without the label)."""
    variable = (
        db.QueryVariable(name)
        .label(label)
        .datasource(DATASOURCE)
        .query({"query": query, "refId": f"{name}-variable"})
        .refresh(dm.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(dm.VariableSort.ALPHABETICAL_ASC)
        .include_all(True)
        .all_value(".*")
        .multi(True)
        .current(dm.VariableOption(selected=True, text=["All"], value=["$__all"]))
    )
    if description:
        variable = variable.description(description)
    return variable


def job_variable(source: str | None) -> db.QueryVariable:
    """Prometheus job(s) scraping the exporter; `source` narrows it to jobs that run that source."""
    selector = f'{{source="{source}"}}' if source else ""
    return query_variable("job", "Job", f"label_values(azure_update_exporter_source_up{selector}, job)")


def subscription_variable(
    metric: str = '{__name__=~"azure_.+", subscription_id!=""}',
    *,
    description: str = "Azure subscription id.",
) -> db.QueryVariable:
    """Subscriptions found on `metric` (default: any series of the exporter that carries one)."""
    return query_variable(
        "subscription",
        "Subscription",
        f"label_values({_with_job(metric)}, subscription_id)",
        description=description,
    )


def resource_group_variable(
    metric: str = '{__name__=~"azure_.+", resource_group!=""}', *, description: str = ""
) -> db.QueryVariable:
    """Resource groups found on `metric` within the selected subscriptions."""
    return query_variable(
        "resource_group",
        "Resource group",
        f"label_values({_with_job(metric, SUBSCRIPTION)}, resource_group)",
        description=description,
    )


def _with_job(metric: str, *more: str) -> str:
    matchers = ", ".join((JOB, *more))
    if metric.endswith("}"):
        return f"{metric[:-1]}, {matchers}}}"
    return f"{metric}{{{matchers}}}"


# ---------------------------------------------------------------------------------------------
# Links
# ---------------------------------------------------------------------------------------------


def dashboard_url(uid: str, *variables: str) -> str:
    """Link to another dashboard of this project, keeping time range, data source and job
    (`variables` adds more, e.g. ``"var-subscription=${__data.fields.subscription_id}"``)."""
    params = ["${__url_time_range}", "${datasource:queryparam}", "${job:queryparam}", *variables]
    return f"/d/{uid}?" + "&".join(params)


def link(title: str, url: str, tooltip: str = "") -> db.DashboardLink:
    return db.DashboardLink(title).type(dm.DashboardLinkType.LINK).url(url).tooltip(tooltip).icon("dashboard")


def dashboard_links(*, overview: bool) -> list[cogbuilder.Builder[dm.DashboardLink]]:
    links: list[cogbuilder.Builder[dm.DashboardLink]] = []
    if overview:
        links.append(
            db.DashboardLink("Estate overview")
            .type(dm.DashboardLinkType.LINK)
            .url(f"/d/{OVERVIEW_UID}")
            .icon("dashboard")
            .tooltip("Every source side by side")
            .include_vars(True)
            .keep_time(True)
        )
    links.append(
        db.DashboardLink("Azure Update")
        .type(dm.DashboardLinkType.DASHBOARDS)
        .tags([TAG])
        .as_dropdown(True)
        .include_vars(True)
        .keep_time(True)
        .icon("external link")
    )
    return links


# ---------------------------------------------------------------------------------------------
# Queries and field config pieces
# ---------------------------------------------------------------------------------------------


def _ref(index: int) -> str:
    return chr(ord("A") + index)


def instant(expr: str, ref: str = "A", *, as_table: bool = False, legend: str = "") -> prometheus.Dataquery:
    query = prometheus.Dataquery().datasource(DATASOURCE).ref_id(ref).expr(expr).instant()
    query = query.format(pm.PromQueryFormat.TABLE if as_table else pm.PromQueryFormat.TIME_SERIES)
    if legend:
        query = query.legend_format(legend)
    return query


def ranged(expr: str, legend: str, ref: str = "A") -> prometheus.Dataquery:
    return (
        prometheus.Dataquery()
        .datasource(DATASOURCE)
        .ref_id(ref)
        .expr(expr)
        .range()
        .format(pm.PromQueryFormat.TIME_SERIES)
        .legend_format(legend)
    )


def thresholds(steps: Steps) -> db.ThresholdsConfig:
    return (
        db.ThresholdsConfig()
        .mode(dm.ThresholdsMode.ABSOLUTE)
        .steps([dm.Threshold(value=value, color=color) for value, color in steps])
    )


def value_map(texts: Mapping[str, tuple[str, str]]) -> dm.ValueMap:
    """{value: (text, colour)}; an empty text keeps the value and only colours it."""
    return dm.ValueMap(
        options={
            value: dm.ValueMappingResult(text=text or None, color=color, index=i)
            for i, (value, (text, color)) in enumerate(texts.items())
        }
    )


UP_DOWN = value_map({"0": ("down", BAD), "1": ("up", OK)})


def fixed_colour(colour: str) -> dm.DynamicConfigValue:
    return dm.DynamicConfigValue(id_val="color", value={"mode": "fixed", "fixedColor": colour})


def colour_overrides(panel: PanelBuilder, colours: Mapping[str, str]) -> None:
    for name, colour in colours.items():
        panel.override_by_name(name, [fixed_colour(colour)])


def _reduce_last() -> common.ReduceDataOptions:
    return common.ReduceDataOptions().calcs(["lastNotNull"]).fields("").values(False)


# ---------------------------------------------------------------------------------------------
# Panels
# ---------------------------------------------------------------------------------------------


def stat_panel(
    title: str,
    description: str,
    expr: str,
    *,
    unit: str = "short",
    steps: Steps = ((None, OK),),
    mappings: Sequence[dm.ValueMapping] = (),
    legend: str = "",
    text_mode: cm.BigValueTextMode = cm.BigValueTextMode.VALUE,
    decimals: int | None = None,
    no_value: str | None = None,
    orientation: cm.VizOrientation | None = None,
) -> stat.Panel:
    panel = (
        stat.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .with_target(instant(expr, legend=legend))
        .unit(unit)
        .color_scheme(db.FieldColor().mode(dm.FieldColorModeId.THRESHOLDS))
        .thresholds(thresholds(steps))
        .mappings(list(mappings))
        .reduce_options(_reduce_last())
        .color_mode(cm.BigValueColorMode.BACKGROUND)
        .graph_mode(cm.BigValueGraphMode.NONE)
        .text_mode(text_mode)
    )
    if decimals is not None:
        panel = panel.decimals(decimals)
    if no_value is not None:
        panel = panel.no_value(no_value)
    if orientation is not None:
        panel = panel.orientation(orientation)
    return panel


def count_stat(title: str, description: str, expr: str, *, alarm: str = BAD, at: float = 1) -> stat.Panel:
    """A count that is green at 0 and `alarm` from `at`; `or vector(0)` shows 0, not "No data"."""
    return stat_panel(title, description, f"{expr} or vector(0)", steps=((None, OK), (at, alarm)))


@dataclass(frozen=True)
class Column:
    """One table column: `field` as the query result names it (a label, or `Value #A` for the
    value of query A; `Value` when the table has a single query), shown as `title`."""

    field: str
    title: str
    unit: str | None = None
    mappings: Mapping[str, tuple[str, str]] | None = None
    steps: Steps | None = None  # colours the cell background by these thresholds
    background: bool = False  # colour the cell background (not the text) by `mappings`
    link: str | None = None  # data link on the cell
    link_title: str = ""


def value(ref: str) -> str:
    return f"Value #{ref}"


@dataclass(frozen=True)
class Sort:
    column: str
    desc: bool = False


# Labels that are noise in a table: Prometheus' own, and Grafana's time column.
HIDDEN = ("Time", "__name__", "job")


def table_panel(
    title: str,
    description: str,
    exprs: Sequence[str],
    columns: Sequence[Column],
    *,
    hide: Iterable[str] = (),
    sort: Sort | None = None,
    transformations: Sequence[dm.DataTransformerConfig] | None = None,
) -> table.Panel:
    """Instant table queries merged into one row per series identity; `columns` gives order,
    names, units and colours; fields that are neither a column nor in `hide` are shown last."""
    panel = (
        table.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .align(cm.FieldTextAlignment.AUTO)
        .filterable(True)
        .cell_height(cm.TableCellHeight.SM)
        .show_header(True)
        .footer(common.TableFooterOptions().show(False).reducer(["sum"]))
        .thresholds(thresholds(((None, OK),)))
    )
    for i, expr in enumerate(exprs):
        panel = panel.with_target(instant(expr, _ref(i), as_table=True))
    if transformations is None:
        transformations = [
            dm.DataTransformerConfig(id_val="merge", options={}),
            organize(columns, hide=(*HIDDEN, *hide)),
        ]
        if sort is not None:
            transformations.append(
                dm.DataTransformerConfig(
                    id_val="sortBy", options={"sort": [{"field": sort.column, "desc": sort.desc}]}
                )
            )
    panel = panel.transformations(list(transformations))
    for column in columns:
        properties = column_properties(column)
        if properties:
            panel = panel.override_by_name(column.title, properties)
    return panel


def organize(
    columns: Sequence[Column], *, hide: Iterable[str] = HIDDEN, aliases: Mapping[str, str] = {}
) -> dm.DataTransformerConfig:
    """Order, rename and hide fields; `aliases` renames fields that only exist sometimes (a join
    suffixes a label with " 1" only when both sides have it)."""
    return dm.DataTransformerConfig(
        id_val="organize",
        options={
            "excludeByName": dict.fromkeys(hide, True),
            "indexByName": {c.field: i for i, c in enumerate(columns)},
            "renameByName": {**{c.field: c.title for c in columns if c.field != c.title}, **aliases},
        },
    )


def column_properties(column: Column) -> list[dm.DynamicConfigValue]:
    properties: list[dm.DynamicConfigValue] = []
    if column.unit:
        properties.append(dm.DynamicConfigValue(id_val="unit", value=column.unit))
    if column.mappings:
        properties.append(dm.DynamicConfigValue(id_val="mappings", value=[value_map(column.mappings)]))
        if not column.steps:
            cell = "color-background" if column.background else "color-text"
            properties.append(dm.DynamicConfigValue(id_val="custom.cellOptions", value={"type": cell}))
    if column.steps:
        properties.append(dm.DynamicConfigValue(id_val="thresholds", value=thresholds(column.steps).build()))
        properties.append(
            dm.DynamicConfigValue(id_val="custom.cellOptions", value={"type": "color-background"})
        )
    if column.link:
        properties.append(
            dm.DynamicConfigValue(
                id_val="links", value=[{"title": column.link_title or column.title, "url": column.link}]
            )
        )
    return properties


@dataclass(frozen=True)
class Series:
    """One query of a time series panel."""

    expr: str
    legend: str


@dataclass(frozen=True)
class Style:
    draw: cm.GraphDrawStyle = cm.GraphDrawStyle.LINE
    fill: int = 10
    stack: bool = False
    step: bool = False
    legend_table: bool = False
    legend_right: bool = False
    legend_calcs: tuple[str, ...] = ()
    sort: cm.SortOrder = cm.SortOrder.DESCENDING
    colours: Mapping[str, str] = field(default_factory=dict)


def timeseries_panel(
    title: str,
    description: str,
    series: Sequence[Series],
    *,
    unit: str,
    style: Style = Style(),
    minimum: float | None = 0,
    decimals: int | None = None,
    steps: Steps | None = None,
) -> timeseries.Panel:
    legend = (
        common.VizLegendOptions()
        .display_mode(cm.LegendDisplayMode.TABLE if style.legend_table else cm.LegendDisplayMode.LIST)
        .placement(cm.LegendPlacement.RIGHT if style.legend_right else cm.LegendPlacement.BOTTOM)
        .show_legend(True)
        .calcs(list(style.legend_calcs))
    )
    panel = (
        timeseries.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .unit(unit)
        .color_scheme(db.FieldColor().mode(dm.FieldColorModeId.PALETTE_CLASSIC))
        .draw_style(style.draw)
        .line_width(1)
        .fill_opacity(style.fill)
        .show_points(cm.VisibilityMode.NEVER)
        .span_nulls(False)
        .legend(legend)
        .tooltip(common.VizTooltipOptions().mode(cm.TooltipDisplayMode.MULTI).sort(style.sort))
    )
    if style.stack:
        panel = panel.stacking(common.StackingConfig().mode(cm.StackingMode.NORMAL).group("A"))
    if style.step:
        panel = panel.line_interpolation(cm.LineInterpolation.STEP_AFTER)
    if minimum is not None:
        panel = panel.min(minimum)
    if decimals is not None:
        panel = panel.decimals(decimals)
    if steps is not None:
        panel = panel.thresholds(thresholds(steps)).thresholds_style(
            common.GraphThresholdsStyleConfig().mode(cm.GraphThresholdsStyleMode.LINE)
        )
    for i, one in enumerate(series):
        panel = panel.with_target(ranged(one.expr, one.legend, _ref(i)))
    colour_overrides(panel, style.colours)
    return panel


def bargauge_panel(
    title: str, description: str, expr: str, legend: str, *, colours: Mapping[str, str] = {}
) -> bargauge.Panel:
    panel = (
        bargauge.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .with_target(instant(expr, legend=legend))
        .unit("short")
        .min(0)
        .color_scheme(db.FieldColor().mode(dm.FieldColorModeId.THRESHOLDS))
        .thresholds(thresholds(((None, BUSY),)))
        .orientation(cm.VizOrientation.HORIZONTAL)
        .display_mode(cm.BarGaugeDisplayMode.BASIC)
        .show_unfilled(True)
        .value_mode(cm.BarGaugeValueMode.COLOR)
        .name_placement(cm.BarGaugeNamePlacement.AUTO)
        .sizing(cm.BarGaugeSizing.AUTO)
        .reduce_options(_reduce_last())
    )
    colour_overrides(panel, colours)
    return panel


def state_timeline_panel(
    title: str, description: str, expr: str, legend: str, states: Mapping[str, tuple[str, str]]
) -> statetimeline.Panel:
    return (
        statetimeline.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .with_target(ranged(expr, legend))
        .color_scheme(db.FieldColor().mode(dm.FieldColorModeId.THRESHOLDS))
        .thresholds(thresholds(((None, "transparent"),)))
        .mappings([value_map(states)])
        .fill_opacity(80)
        .line_width(0)
        .show_value(cm.VisibilityMode.AUTO)
        .merge_values(True)
        .align_value(cm.TimelineValueAlignment.LEFT)
        .row_height(0.8)
        .legend(
            common.VizLegendOptions()
            .display_mode(cm.LegendDisplayMode.LIST)
            .placement(cm.LegendPlacement.BOTTOM)
            .show_legend(True)
        )
        .tooltip(common.VizTooltipOptions().mode(cm.TooltipDisplayMode.SINGLE).sort(cm.SortOrder.NONE))
    )


# ---------------------------------------------------------------------------------------------
# Freshness of a source (every source dashboard has this row)
# ---------------------------------------------------------------------------------------------


def source_up_stat(
    source: str, description: str, *, per_instance: bool = False, title: str = "Source up"
) -> stat.Panel:
    expr = f'azure_update_exporter_source_up{{{JOB}, source="{source}"}}'
    return stat_panel(
        title,
        description,
        expr if per_instance else f"min({expr})",
        steps=((None, BAD), (1, OK)),
        mappings=[UP_DOWN],
        legend="{{instance}}" if per_instance else "",
        text_mode=cm.BigValueTextMode.VALUE_AND_NAME if per_instance else cm.BigValueTextMode.VALUE,
    )


def data_age_stat(
    source: str, description: str, *, warn: float, crit: float, per_instance: bool = False
) -> stat.Panel:
    expr = f'time() - azure_update_exporter_source_last_success_timestamp_seconds{{{JOB}, source="{source}"}}'
    return stat_panel(
        "Data age",
        description,
        expr if per_instance else f"max({expr})",
        unit="s",
        steps=((None, OK), (warn, WARN), (crit, BAD)),
        legend="{{instance}}" if per_instance else "",
        text_mode=cm.BigValueTextMode.VALUE_AND_NAME if per_instance else cm.BigValueTextMode.VALUE,
        decimals=0,
    )


def errors_by_reason_series(source: str, legend_prefix: str = "") -> Series:
    return Series(
        f"sum by (reason) (rate(azure_update_exporter_source_errors_total{{{JOB}, "
        f'source="{source}"}}[$__rate_interval])) > 0',
        f"{legend_prefix}{{{{reason}}}}",
    )


# ---------------------------------------------------------------------------------------------
# The dashboard
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """A panel and its size on the 24-column grid; cells fill a row left to right and wrap."""

    panel: PanelBuilder
    width: int
    height: int


@dataclass(frozen=True)
class Row:
    title: str
    cells: Sequence[Cell]


def cells(height: int, *panels_and_widths: tuple[PanelBuilder, int]) -> list[Cell]:
    return [Cell(panel, width, height) for panel, width in panels_and_widths]


def dashboard(
    *,
    uid: str,
    title: str,
    description: str,
    variables: Sequence[cogbuilder.Builder[dm.VariableModel]],
    rows: Sequence[Row],
    time_from: str = "now-6h",
    refresh: str = "30s",
    overview_link: bool = True,
) -> dm.Dashboard:
    """The built dashboard model, with the project's conventions applied."""
    if not (uid.startswith(UID_PREFIX) and title.startswith(TITLE_PREFIX)):
        raise ValueError(
            f"dashboard {uid!r} {title!r}: uid must start {UID_PREFIX!r}, title {TITLE_PREFIX!r}"
        )
    builder = (
        db.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags([TAG])
        .editable()
        .tooltip(dm.DashboardCursorSync.CROSSHAIR)
        .timezone("")
        .time(time_from, "now")
        .refresh(refresh)
        .version(1)
        .links(dashboard_links(overview=overview_link))
        .annotation(
            db.AnnotationQuery()
            .name("Annotations & Alerts")
            .datasource(dm.DataSourceRef(type_val="grafana", uid="-- Grafana --"))
            .built_in(1)
            .enable(True)
            .hide(True)
            .icon_color("rgba(0, 211, 255, 1)")
            .type("dashboard")
        )
        .with_variable(datasource_variable())
    )
    for variable in variables:
        builder = builder.with_variable(variable)
    for row in rows:
        builder = builder.with_row(db.Row(row.title))
        for cell in row.cells:
            builder = builder.with_panel(_Sized(cell))
    model = builder.build()
    _number_panels(model)
    return model


class _Sized(cogbuilder.Builder[dm.Panel]):
    def __init__(self, cell: Cell) -> None:
        self.cell = cell

    def build(self) -> dm.Panel:
        return self.cell.panel.height(self.cell.height).span(self.cell.width).build()


def _number_panels(model: dm.Dashboard) -> None:
    # Stable ids in layout order: Grafana needs them unique (links to a panel, "view panel").
    for i, panel in enumerate(model.panels or [], start=1):
        panel.id_val = i
