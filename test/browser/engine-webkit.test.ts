// The core scenarios in WebKitGTK's MiniBrowser (selenium-webdriver and
// WebKitWebDriver, under an Xvfb the driver layer starts).
import {describeCoreScenarios} from './core-scenarios.js';

describeCoreScenarios('webkit');
