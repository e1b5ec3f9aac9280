/**
 * What report.html runs in the browser: it reads the embedded chart data and draws every chart
 * with the inlined Lightweight Charts. Plain ES2020 in a string (not a bundled function) so that
 * the page's code is exactly what is written here, whatever compiles the project.
 */

/** Colours of the series, exported for the browser test that looks for them in a screenshot. */
export const CHART_COLORS = {
  equity: '#2962ff',
  drawdown: '#c62828',
  candleUp: '#26a69a',
  candleDown: '#ef5350',
  entry: '#1565c0',
  exit: '#ff6d00',
} as const;

export const REPORT_SCRIPT = `
(function () {
  'use strict';
  var LC = window.LightweightCharts;
  // No dashed last-value lines across the plot: the curves themselves carry the information.
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var colors = data.colors;

  function chart(id, priceFormat) {
    var el = document.getElementById(id);
    return LC.createChart(el, {
      autoSize: true,
      layout: { background: { type: 'solid', color: '#ffffff' }, textColor: '#333333' },
      grid: { vertLines: { color: '#f0f0f0' }, horzLines: { color: '#f0f0f0' } },
      // A long run has more points than pixels: let fitContent() show all of it, not the last part.
      timeScale: { timeVisible: true, secondsVisible: false, minBarSpacing: 0.01 },
      localization: { priceFormatter: priceFormat },
      rightPriceScale: { borderVisible: false },
    });
  }
  function fixed(decimals) { return function (x) { return x.toFixed(decimals); }; }
  function format(precision) { return { type: 'price', precision: precision, minMove: Math.pow(10, -precision) }; }

  data.equity.forEach(function (e) {
    var c = chart(e.equityId, fixed(e.precision));
    c.addSeries(LC.LineSeries, { color: colors.equity, lineWidth: 2, priceLineVisible: false, priceFormat: format(e.precision) }).setData(e.equity);
    c.timeScale().fitContent();
    var d = chart(e.drawdownId, function (x) { return x.toFixed(2) + ' %'; });
    d.addSeries(LC.AreaSeries, {
      lineColor: colors.drawdown, lineWidth: 2, topColor: 'rgba(198, 40, 40, 0.05)', bottomColor: 'rgba(198, 40, 40, 0.4)',
      invertFilledArea: true, priceLineVisible: false, priceFormat: format(2),
    }).setData(e.drawdown);
    d.timeScale().fitContent();
  });

  data.markets.forEach(function (m) {
    var c = chart(m.id, fixed(m.precision));
    var series = c.addSeries(LC.CandlestickSeries, {
      upColor: colors.candleUp, downColor: colors.candleDown, borderVisible: false,
      wickUpColor: colors.candleUp, wickDownColor: colors.candleDown, priceLineVisible: false, priceFormat: format(m.precision),
    });
    series.setData(m.candles);
    LC.createSeriesMarkers(series, m.markers.map(function (k) {
      return k.kind === 'entry'
        ? { time: k.time, position: 'belowBar', shape: 'arrowUp', color: colors.entry, text: k.text }
        : { time: k.time, position: 'aboveBar', shape: 'arrowDown', color: colors.exit, text: k.text };
    }));
    c.timeScale().fitContent();
  });

  document.body.setAttribute('data-charts-ready', 'true');
})();
`;

export const REPORT_CSS = `
body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222; margin: 0 auto; max-width: 1200px; padding: 16px 24px 48px; }
h1 { font-size: 22px; margin: 8px 0 4px; }
h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
h3 { font-size: 15px; margin: 16px 0 6px; }
.meta { color: #666; }
.chart { height: 300px; width: 100%; border: 1px solid #e5e5e5; }
.chart.short { height: 180px; }
table { border-collapse: collapse; margin: 6px 0 12px; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #e0e0e0; padding: 3px 8px; text-align: right; white-space: nowrap; }
th:first-child, td:first-child, td.text { text-align: left; }
th { background: #f6f6f6; }
.pos { color: #1b7f3b; } .neg { color: #b71c1c; }
.scroll { overflow-x: auto; }
pre { background: #f6f6f6; padding: 8px; overflow-x: auto; }
`;
